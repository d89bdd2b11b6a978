//! The embedded engine's door: a request is let in only when it carries an AWS
//! Signature Version 4 by the engine's own credentials
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>).
//!
//! The signature is recomputed from the request as received (canonical request,
//! string to sign, signing key derived from the secret for the date, the region
//! of the credential scope and service `dynamodb`) and compared in constant time; the
//! request's `X-Amz-Date` must be within 15 minutes of now, as AWS requires.
//! Refusals carry DynamoDB's own error types and messages.

use axum::http::HeaderMap;
use gatehouse_core::dynamodb::EndpointCredentials;
use ring::{digest, hmac};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The only signing algorithm accepted.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The service in the credential scope.
const SERVICE: &str = "dynamodb";
/// How far `X-Amz-Date` may be from now, either way (AWS allows 15 minutes).
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);
/// Headers that must be covered by the signature: the host and date, as SigV4
/// requires, and the target, which chooses the operation.
const REQUIRED_SIGNED: [&str; 3] = ["host", "x-amz-date", "x-amz-target"];

/// Why a request was refused, as DynamoDB words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The exception name (`__type` after `com.amazon.coral.service#`).
    pub error_type: &'static str,
    pub message: String,
}

impl Refusal {
    fn unrecognized_client() -> Self {
        Self {
            error_type: "UnrecognizedClientException",
            message: "The security token included in the request is invalid.".into(),
        }
    }

    fn invalid_signature(message: impl Into<String>) -> Self {
        Self {
            error_type: "InvalidSignatureException",
            message: message.into(),
        }
    }

    fn mismatch() -> Self {
        Self::invalid_signature(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        )
    }

    fn incomplete(message: impl Into<String>) -> Self {
        Self {
            error_type: "IncompleteSignatureException",
            message: message.into(),
        }
    }

    /// The JSON body DynamoDB answers with (HTTP 400).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "__type": format!("com.amazon.coral.service#{}", self.error_type),
            "message": self.message,
        })
        .to_string()
    }
}

/// The parts of a received request the signature covers.
pub struct Received<'a> {
    pub method: &'a str,
    /// The path as sent (still percent-encoded).
    pub path: &'a str,
    /// The raw query string, empty when there is none.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Lets the request in when it is signed by `credentials` within the clock skew
/// of `now`; otherwise says why not.
pub fn verify(
    req: &Received<'_>,
    credentials: &EndpointCredentials,
    now: SystemTime,
) -> Result<(), Refusal> {
    let authorization = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    // Presence and completeness first, with the errors DynamoDB gives.
    if let Some(body) = dynoxide::auth_material::validate(dynoxide::auth_material::AuthMaterial {
        authorization,
        query: req.query,
        has_date_header: req.headers.contains_key("x-amz-date") || req.headers.contains_key("date"),
    }) {
        return Err(from_dynoxide(&body));
    }
    let Some(authorization) = authorization else {
        return Err(Refusal::invalid_signature(
            "Only the Authorization header is accepted for signing.",
        ));
    };
    if !req.query.is_empty() {
        return Err(Refusal::invalid_signature(
            "DynamoDB requests carry no query string.",
        ));
    }
    let auth = parse_authorization(authorization)?;
    if auth.access_key_id != credentials.access_key_id {
        return Err(Refusal::unrecognized_client());
    }
    if req.headers.contains_key("x-amz-security-token") {
        // The engine's credentials are long-term: no session token goes with them.
        return Err(Refusal::unrecognized_client());
    }
    let amz_date = header_value(req.headers, "x-amz-date").ok_or_else(|| {
        Refusal::invalid_signature("The request must carry an X-Amz-Date header.")
    })?;
    let signed_at = parse_amz_date(&amz_date).ok_or_else(|| {
        Refusal::invalid_signature(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })?;
    check_skew(&amz_date, signed_at, now)?;
    if auth.date != &amz_date[..8] {
        return Err(Refusal::invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.date,
            &amz_date[..8]
        )));
    }
    // Any region: the engine is one local database, whatever region a client is
    // configured for (an operator's `--region`), and the signature covers it.
    if auth.region.is_empty()
        || !auth
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Refusal::invalid_signature(format!(
            "Credential should be scoped to a valid region, not '{}'.",
            auth.region
        )));
    }
    if auth.service != SERVICE {
        return Err(Refusal::invalid_signature(format!(
            "Credential should be scoped to correct service: '{SERVICE}'."
        )));
    }
    if auth.terminator != "aws4_request" {
        return Err(Refusal::invalid_signature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            auth.terminator
        )));
    }
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    if signed
        .iter()
        .any(|h| h.is_empty() || *h != h.to_ascii_lowercase())
        || signed.windows(2).any(|w| w[0] >= w[1])
    {
        return Err(Refusal::invalid_signature(
            "SignedHeaders must be lowercase, sorted and without repeats.",
        ));
    }
    for required in REQUIRED_SIGNED {
        if !signed.contains(&required) {
            return Err(Refusal::invalid_signature(format!(
                "'{required}' must be a signed header."
            )));
        }
    }
    let mut canonical_headers = String::new();
    for name in &signed {
        let value = header_value(req.headers, name).ok_or_else(|| {
            Refusal::invalid_signature(format!("The signed header '{name}' is missing."))
        })?;
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&value);
        canonical_headers.push('\n');
    }
    let canonical_request = format!(
        "{}\n{}\n\n{canonical_headers}\n{}\n{}",
        req.method,
        canonical_uri(req.path),
        auth.signed_headers,
        hex(digest::digest(&digest::SHA256, req.body).as_ref()),
    );
    let scope = format!("{}/{}/{SERVICE}/aws4_request", auth.date, auth.region);
    let string_to_sign = string_to_sign(&amz_date, &scope, &canonical_request);
    let provided = unhex(auth.signature).ok_or_else(Refusal::mismatch)?;
    let key = signing_key(
        credentials.secret_access_key.expose(),
        auth.date,
        auth.region,
        SERVICE,
    );
    // Constant time: ring compares the tag without branching on its bytes.
    hmac::verify(&key, string_to_sign.as_bytes(), &provided).map_err(|_| Refusal::mismatch())
}

/// A refusal from dynoxide's presence check (a JSON body with `__type` and
/// `message`), kept word for word.
fn from_dynoxide(body: &str) -> Refusal {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let error_type = match v["__type"].as_str().and_then(|t| t.rsplit('#').next()) {
        Some("MissingAuthenticationTokenException") => "MissingAuthenticationTokenException",
        Some("InvalidSignatureException") => "InvalidSignatureException",
        _ => "IncompleteSignatureException",
    };
    Refusal {
        error_type,
        message: v["message"].as_str().unwrap_or_default().to_owned(),
    }
}

struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

/// `AWS4-HMAC-SHA256 Credential=ID/DATE/REGION/SERVICE/aws4_request,
/// SignedHeaders=a;b, Signature=HEX`.
fn parse_authorization(value: &str) -> Result<Authorization<'_>, Refusal> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| {
            Refusal::incomplete(format!(
                "Unsupported AWS 'algorithm': only '{ALGORITHM}' is accepted."
            ))
        })?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((key, val)) = part.trim().split_once('=') else {
            return Err(Refusal::incomplete(format!(
                "Authorization header parts must be key=value: '{}'.",
                part.trim()
            )));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(val.trim()).is_some() {
            return Err(Refusal::incomplete(format!(
                "Authorization header repeats '{key}'."
            )));
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(Refusal::incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.",
        ));
    };
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts[..] else {
        return Err(Refusal::incomplete(format!(
            "Credential should have exactly 5 slash-separated parts, not {}.",
            parts.len()
        )));
    };
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        terminator,
        signed_headers,
        signature,
    })
}

/// Every value of header `name`, trimmed, runs of spaces made one, joined by `,`
/// (the canonical header value).
fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// The canonical URI: each byte outside the unreserved set percent-encoded, `/`
/// kept (DynamoDB, unlike S3, encodes the already-encoded path once more).
fn canonical_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() { "/".into() } else { out }
}

fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref())
    )
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let step = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let k_date = step(format!("AWS4{secret}").as_bytes(), date);
    let k_region = step(k_date.as_ref(), region);
    let k_service = step(k_region.as_ref(), service);
    let k_signing = step(k_service.as_ref(), "aws4_request");
    hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref())
}

fn check_skew(amz_date: &str, signed_at: u64, now: SystemTime) -> Result<(), Refusal> {
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let skew = MAX_CLOCK_SKEW.as_secs();
    if signed_at + skew < now {
        return Err(Refusal::invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            format_amz_date(now - skew),
            format_amz_date(now)
        )));
    }
    if signed_at > now + skew {
        return Err(Refusal::invalid_signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            format_amz_date(now + skew),
            format_amz_date(now)
        )));
    }
    Ok(())
}

/// Seconds since the epoch of `YYYYMMDDTHHMMSSZ`.
fn parse_amz_date(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 16
        || b[8] != b'T'
        || b[15] != b'Z'
        || !b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 59
    {
        return None;
    }
    Some(days_from_civil(y, m, d)? * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (none before 1970).
fn days_from_civil(y: u64, m: u64, d: u64) -> Option<u64> {
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

/// `YYYYMMDDTHHMMSSZ` of seconds since the epoch.
fn format_amz_date(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lowercase or uppercase hex of a 32-byte signature.
fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
    use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
    use aws_sdk_dynamodb::error::BoxError;
    use axum::http::HeaderValue;
    use gatehouse_core::dynamodb::endpoint_client;
    use gatehouse_core::secret::Secret;
    use std::sync::{Arc, Mutex};

    /// A request as the AWS SDK signed it, taken just before it is sent.
    #[derive(Clone, Debug)]
    struct Captured {
        method: String,
        path: String,
        query: String,
        headers: HeaderMap,
        body: Vec<u8>,
    }

    impl Captured {
        fn received(&self) -> Received<'_> {
            Received {
                method: &self.method,
                path: &self.path,
                query: &self.query,
                headers: &self.headers,
                body: &self.body,
            }
        }

        fn signed_at(&self) -> SystemTime {
            let date = self.headers["x-amz-date"].to_str().unwrap();
            UNIX_EPOCH + Duration::from_secs(parse_amz_date(date).unwrap())
        }
    }

    #[derive(Clone, Debug, Default)]
    struct Capture(Arc<Mutex<Option<Captured>>>);

    impl Intercept for Capture {
        fn name(&self) -> &'static str {
            "Capture"
        }

        fn read_before_transmit(
            &self,
            context: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let req = context.request();
            let uri: axum::http::Uri = req.uri().parse()?;
            let mut headers = HeaderMap::new();
            for (name, value) in req.headers() {
                headers.append(
                    axum::http::HeaderName::from_bytes(name.as_bytes())?,
                    HeaderValue::from_str(value)?,
                );
            }
            // The HTTP client adds Host from the URI; the signer signed it.
            if let Some(authority) = uri.authority() {
                headers
                    .entry("host")
                    .or_insert(HeaderValue::from_str(authority.as_str())?);
            }
            *self.0.lock().unwrap() = Some(Captured {
                method: req.method().to_string(),
                path: uri.path().to_owned(),
                query: uri.query().unwrap_or("").to_owned(),
                headers,
                body: req.body().bytes().unwrap_or_default().to_vec(),
            });
            Err("captured, not sent".into())
        }
    }

    fn credentials(secret: &str) -> EndpointCredentials {
        EndpointCredentials::new("GATEHOUSETEST", Secret::new(secret))
    }

    /// A `PutItem` as the AWS SDK for Rust signs it with `creds`.
    async fn signed_by_the_sdk(creds: &EndpointCredentials) -> Captured {
        let capture = Capture::default();
        let client = endpoint_client("http://127.0.0.1:9", creds).await;
        let client = aws_sdk_dynamodb::Client::from_conf(
            client
                .config()
                .to_builder()
                .interceptor(capture.clone())
                .build(),
        );
        let _ = client
            .put_item()
            .table_name("gatehouse-clients")
            .item(
                "client_id",
                aws_sdk_dynamodb::types::AttributeValue::S("abc".into()),
            )
            .send()
            .await;
        capture
            .0
            .lock()
            .unwrap()
            .clone()
            .expect("the SDK signed a request")
    }

    const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

    fn refusal_type(r: Result<(), Refusal>) -> &'static str {
        r.expect_err("refused").error_type
    }

    #[tokio::test]
    async fn a_changed_body_header_date_or_secret_does_not_verify() {
        let creds = credentials(SECRET);
        let genuine = signed_by_the_sdk(&creds).await;
        let at = genuine.signed_at();

        let mut body = genuine.clone();
        body.body = body
            .body
            .iter()
            .map(|&b| if b == b'a' { b'b' } else { b })
            .collect();
        assert_ne!(body.body, genuine.body);
        assert_eq!(
            refusal_type(verify(&body.received(), &creds, at)),
            "InvalidSignatureException",
            "a changed body"
        );

        let mut target = genuine.clone();
        target.headers.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.DeleteItem"),
        );
        assert_eq!(
            refusal_type(verify(&target.received(), &creds, at)),
            "InvalidSignatureException",
            "a changed signed header"
        );

        let mut host = genuine.clone();
        host.headers
            .insert("host", HeaderValue::from_static("127.0.0.1:10"));
        assert_eq!(
            refusal_type(verify(&host.received(), &creds, at)),
            "InvalidSignatureException",
            "a changed host"
        );

        let mut date = genuine.clone();
        let later = format_amz_date(
            parse_amz_date(date.headers["x-amz-date"].to_str().unwrap()).unwrap() + 1,
        );
        date.headers
            .insert("x-amz-date", HeaderValue::from_str(&later).unwrap());
        assert_eq!(
            refusal_type(verify(&date.received(), &creds, at)),
            "InvalidSignatureException",
            "a changed date"
        );

        let mut other_secret = SECRET.to_owned();
        other_secret.replace_range(0..1, "1");
        assert_eq!(
            refusal_type(verify(&genuine.received(), &credentials(&other_secret), at)),
            "InvalidSignatureException",
            "another secret"
        );

        let other_id = EndpointCredentials::new("SOMEONEELSE", Secret::new(SECRET));
        assert_eq!(
            refusal_type(verify(&genuine.received(), &other_id, at)),
            "UnrecognizedClientException",
            "another access key id"
        );

        let mut query = genuine.clone();
        query.query = "a=b".into();
        assert_eq!(
            refusal_type(verify(&query.received(), &creds, at)),
            "InvalidSignatureException",
            "a query string"
        );

        let mut token = genuine.clone();
        token
            .headers
            .insert("x-amz-security-token", HeaderValue::from_static("t"));
        assert_eq!(
            refusal_type(verify(&token.received(), &creds, at)),
            "UnrecognizedClientException",
            "a session token"
        );

        let mut flipped = genuine.clone();
        let auth = flipped.headers["authorization"]
            .to_str()
            .unwrap()
            .to_owned();
        let last = auth.chars().last().unwrap();
        let changed = format!(
            "{}{}",
            &auth[..auth.len() - 1],
            if last == '0' { '1' } else { '0' }
        );
        flipped
            .headers
            .insert("authorization", HeaderValue::from_str(&changed).unwrap());
        assert_eq!(
            refusal_type(verify(&flipped.received(), &creds, at)),
            "InvalidSignatureException",
            "a changed signature"
        );
    }

    #[tokio::test]
    async fn a_request_without_a_signature_is_refused_as_dynamodb_refuses_it() {
        let creds = credentials(SECRET);
        let genuine = signed_by_the_sdk(&creds).await;
        let at = genuine.signed_at();

        let mut unsigned = genuine.clone();
        unsigned.headers.remove("authorization");
        let refusal = verify(&unsigned.received(), &creds, at).unwrap_err();
        assert_eq!(refusal.error_type, "MissingAuthenticationTokenException");
        let json: serde_json::Value = serde_json::from_str(&refusal.to_json()).unwrap();
        assert_eq!(
            json["__type"],
            "com.amazon.coral.service#MissingAuthenticationTokenException"
        );
        assert!(json["message"].is_string());

        let mut partial = genuine.clone();
        partial.headers.insert(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=GATEHOUSETEST"),
        );
        assert_eq!(
            refusal_type(verify(&partial.received(), &creds, at)),
            "IncompleteSignatureException"
        );

        let mut garbage = genuine.clone();
        garbage.headers.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=GATEHOUSETEST/x, SignedHeaders=host, Signature=zz",
            ),
        );
        assert_eq!(
            refusal_type(verify(&garbage.received(), &creds, at)),
            "IncompleteSignatureException"
        );
    }

    #[tokio::test]
    async fn a_signature_outside_fifteen_minutes_is_refused() {
        let creds = credentials(SECRET);
        let genuine = signed_by_the_sdk(&creds).await;
        let at = genuine.signed_at();
        let minute = Duration::from_secs(60);
        for now in [at + 16 * minute, at - 16 * minute] {
            let refusal = verify(&genuine.received(), &creds, now).unwrap_err();
            assert_eq!(refusal.error_type, "InvalidSignatureException");
            assert!(
                refusal.message.starts_with("Signature"),
                "{}",
                refusal.message
            );
        }
        for now in [at + 14 * minute, at - 14 * minute] {
            assert_eq!(verify(&genuine.received(), &creds, now), Ok(()));
        }
    }

    #[tokio::test]
    async fn a_signature_computed_by_the_aws_sdk_verifies() {
        let creds = credentials(SECRET);
        let genuine = signed_by_the_sdk(&creds).await;
        assert_eq!(
            verify(&genuine.received(), &creds, genuine.signed_at()),
            Ok(())
        );
        assert_eq!(
            verify(&genuine.received(), &creds, SystemTime::now()),
            Ok(()),
            "signed just now"
        );
    }

    #[test]
    fn the_signing_key_and_string_to_sign_follow_the_aws_example() {
        // The worked example of the SigV4 documentation (IAM ListUsers,
        // 20150830T123600Z, the documentation's example secret), with its
        // service and region: the same derivation the engine uses.
        let canonical = "GET\n/\nAction=ListUsers&Version=2010-05-08\n\
            content-type:application/x-www-form-urlencoded; charset=utf-8\n\
            host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
            content-type;host;x-amz-date\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let scope = "20150830/us-east-1/iam/aws4_request";
        let sts = string_to_sign("20150830T123600Z", scope, canonical);
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex(hmac::sign(&key, sts.as_bytes()).as_ref()),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn amz_dates_parse_and_print_back() {
        for d in ["19700101T000000Z", "20261201T140749Z", "20240229T235959Z"] {
            assert_eq!(format_amz_date(parse_amz_date(d).unwrap()), d);
        }
        assert_eq!(parse_amz_date("19700101T000001Z"), Some(1));
        for bad in [
            "",
            "20261301T000000Z",
            "20230229T000000Z",
            "20261201T240000Z",
            "20261201 000000Z",
            "2026-12-01T00:00",
            "+0261201T000000Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }
}
