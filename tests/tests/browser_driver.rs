//! The headless-browser driver itself, against a tiny form served here by a
//! hand-rolled HTTP/1.1 responder.

use gatehouse_tests::browser::Browser;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FORM: &str = "<!doctype html><html><head><title>Form</title>\
    <link rel=icon href=\"data:,\"></head><body>\
    <form method=post action=/submit><label for=u>User</label><input id=u name=username>\
    <button type=submit>Go</button></form></body></html>";

const DONE: &str = "<!doctype html><html><head><title>Done</title>\
    <link rel=icon href=\"data:,\"></head><body><p>Done</p></body></html>";

/// Serves `/`, `POST /submit` and `/done` on a loopback port; its base URL.
async fn serve_form() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream));
        }
    });
    base
}

/// Answers one request, then closes the connection.
async fn answer(mut stream: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let (method, target) = (request_line.next(), request_line.next().unwrap_or_default());
    let path = target.split('?').next().unwrap_or_default();
    let response = match (method, path) {
        (Some("GET"), "/") => page("200 OK", FORM),
        (Some("POST"), "/submit") => format!(
            "HTTP/1.1 303 See Other\r\nLocation: /done?{body}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        (Some("GET"), "/done") => page("200 OK", DONE),
        _ => page("404 Not Found", "not found"),
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn page(status: &str, html: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{html}",
        html.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_driver_fills_a_form_and_follows_its_submission() {
    let base = serve_form().await;
    let browser = Browser::start().await.expect("headless Chromium starts");

    browser.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Form");
    let label = browser.find("label[for=u]").await.unwrap();
    assert_eq!(browser.text(&label).await.unwrap(), "User");
    assert_eq!(browser.find_all("input").await.unwrap().len(), 1);

    browser.fill("input[name=username]", "alice").await.unwrap();
    let input = browser.find("#u").await.unwrap();
    assert_eq!(browser.prop(&input, "value").await.unwrap(), "alice");
    let name = browser.attr(&input, "name").await.unwrap();
    assert_eq!(name.as_deref(), Some("username"));
    assert_eq!(browser.attr(&input, "value").await.unwrap(), None);
    browser.click_css("button[type=submit]").await.unwrap();

    let url = browser
        .wait_for_url(
            |url| url.contains("/done?username=alice"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(url, format!("{base}/done?username=alice"));
    assert_eq!(browser.title().await.unwrap(), "Done");
    assert!(browser.source().await.unwrap().contains("<p>Done</p>"));
    let answer = browser
        .execute("return arguments[0] + 1;", vec![41.into()])
        .await
        .unwrap();
    assert_eq!(answer, 42);

    let log = browser.browser_log().await.unwrap();
    let severe: Vec<_> = log
        .iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .collect();
    assert!(severe.is_empty(), "severe browser log entries: {severe:#?}");

    let profile = browser.profile_dir().to_path_buf();
    browser.quit().await.unwrap();
    assert!(
        !profile.exists(),
        "the profile {} is removed",
        profile.display()
    );
}
