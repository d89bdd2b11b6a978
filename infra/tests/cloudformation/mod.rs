//! A stand-in for CloudFormation's `DescribeStacks` on a loopback port, which the
//! AWS SDK of `gatehouse --aws --stack` is pointed at with
//! `AWS_ENDPOINT_URL_CLOUDFORMATION`. It speaks the query protocol: a POSTed form
//! `Action=DescribeStacks&StackName=...&Version=2010-05-15`, answered with a
//! `DescribeStacksResponse` document or an `ErrorResponse`, as CloudFormation does.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the stand-in answers for one stack name.
#[derive(Clone)]
pub enum Stack {
    /// The stack exists with these outputs (`OutputKey`, `OutputValue`).
    Outputs(Vec<(String, String)>),
    /// An error: HTTP status, `Code`, `Message`.
    Error(u16, &'static str, &'static str),
}

/// One request the stand-in received.
#[derive(Clone, Debug)]
pub struct Received {
    /// The form fields of the body, decoded.
    pub form: HashMap<String, String>,
    /// The `Authorization` header (SigV4), if any.
    pub authorization: Option<String>,
}

pub struct CloudFormation {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl CloudFormation {
    /// Serves `stacks` by name; any other name is answered as CloudFormation
    /// answers an unknown stack.
    pub fn start(stacks: HashMap<String, Stack>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let stacks = stacks.clone();
                let log = log.clone();
                std::thread::spawn(move || answer(stream, &stacks, &log));
            }
        });
        Self { url, received }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Answers one request, then closes the connection.
fn answer(stream: TcpStream, stacks: &HashMap<String, Stack>, log: &Mutex<Vec<Received>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0;
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => authorization = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let form = decode_form(&String::from_utf8_lossy(&body));
    log.lock().unwrap().push(Received {
        form: form.clone(),
        authorization,
    });
    let (status, xml) = respond(request_line.starts_with("POST "), &form, stacks);
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Forbidden",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nConnection: close\r\n\r\n{xml}",
        xml.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

fn respond(
    post: bool,
    form: &HashMap<String, String>,
    stacks: &HashMap<String, Stack>,
) -> (u16, String) {
    let field = |name: &str| form.get(name).map(String::as_str);
    if !post || field("Action") != Some("DescribeStacks") || field("Version") != Some("2010-05-15")
    {
        return error(
            400,
            "InvalidAction",
            "only DescribeStacks of 2010-05-15 is served here",
        );
    }
    let name = field("StackName").unwrap_or_default();
    match stacks.get(name) {
        Some(Stack::Outputs(outputs)) => (200, described(name, outputs)),
        Some(Stack::Error(status, code, message)) => error(*status, code, message),
        None => error(
            400,
            "ValidationError",
            &format!("Stack with id {name} does not exist"),
        ),
    }
}

fn described(name: &str, outputs: &[(String, String)]) -> String {
    let members: String = outputs
        .iter()
        .map(|(key, value)| {
            format!(
                "<member><OutputKey>{key}</OutputKey><OutputValue>{value}</OutputValue></member>"
            )
        })
        .collect();
    format!(
        "<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
         <DescribeStacksResult><Stacks><member>\
         <StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/{name}/0f0e0d0c-0000-0000-0000-000000000000</StackId>\
         <StackName>{name}</StackName><CreationTime>2026-11-30T12:00:00Z</CreationTime>\
         <StackStatus>CREATE_COMPLETE</StackStatus><Outputs>{members}</Outputs>\
         </member></Stacks></DescribeStacksResult>\
         <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>\
         </DescribeStacksResponse>"
    )
}

fn error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        format!(
            "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\
             <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        ),
    )
}

/// `application/x-www-form-urlencoded` fields.
fn decode_form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
