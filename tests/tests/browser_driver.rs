//! The headless-browser driver itself, against a tiny form served here by a
//! hand-rolled HTTP/1.1 responder.

use gatehouse_tests::browser::Browser;
use gatehouse_tests::loopback::{html, read_request, respond};
use std::time::Duration;
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
    let Some(req) = read_request(&mut stream).await else {
        return;
    };
    let response = match (req.method.as_str(), req.path()) {
        ("GET", "/") => html("200 OK", FORM),
        ("POST", "/submit") => format!(
            "HTTP/1.1 303 See Other\r\nLocation: /done?{}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            req.body
        ),
        ("GET", "/done") => html("200 OK", DONE),
        _ => html("404 Not Found", "not found"),
    };
    respond(stream, &response).await;
}

#[tokio::test]
async fn a_missing_chromedriver_or_chromium_is_an_error_naming_the_packages_and_variables() {
    let absent = std::path::Path::new("/nonexistent/gatehouse-test/chromedriver");
    for (driver, chromium) in [
        (absent, std::path::Path::new("/usr/bin/chromium")),
        (std::path::Path::new("/usr/bin/chromedriver"), absent),
    ] {
        let Err(e) = Browser::start_with(driver, chromium).await else {
            panic!("started without {}", absent.display());
        };
        for part in [
            "/nonexistent/gatehouse-test/chromedriver not found",
            "chromium and chromium-driver",
            "tests/run",
            "GATEHOUSE_CHROMIUM",
            "GATEHOUSE_CHROMEDRIVER",
        ] {
            assert!(e.contains(part), "expected {part:?} in: {e}");
        }
    }
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
