//! Sign-in throttling (OWASP ASVS v4.0.3 §2.2.1, `domain/login_throttle.rs`)
//! against the embedded engine: simultaneous attempts cannot outrun the limit,
//! an attacker at one address does not lock the owner out, the per-username
//! ceiling slows every address down to one attempt, and a missing address is no
//! way around the limits. Sign-ins from chosen addresses go through the same
//! authorization endpoint the Lambda runs, with API Gateway's
//! `requestContext.http.sourceIp`; the burst goes over HTTP.

use gatehouse_core::domain::client::ClientType;
use gatehouse_core::routes::Endpoint;
use gatehouse_core::store::LoginAttemptStore;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, Page, UserAgent};
use gatehouse_tests::{TestClient, TestServer};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::http::{Method, Request};
use lambda_http::request::RequestContext;

const WRONG: &str = "The username or password is incorrect.";
const THROTTLED: &str = "Too many failed sign-in attempts";

/// A server whose window cannot roll over during a test, with `adjust` applied,
/// alice, and the login page of a confidential client's request.
async fn setup(adjust: impl FnOnce(&mut gatehouse_core::Config)) -> (TestServer, LoginForm) {
    let server = TestServer::start_with(|c| {
        c.login_failure_window = 1_000_000_000;
        adjust(c);
    })
    .await;
    let client: TestClient = server.code_client(ClientType::Confidential, "read").await;
    server.user("alice").await;
    let mut ua = UserAgent::new();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge());
    let page = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    assert!(page.is_login(), "{}", page.body);
    (server, LoginForm { ua, page })
}

fn challenge() -> String {
    gatehouse_tests::flow::pkce().1
}

/// A login page and the cookies it came with.
struct LoginForm {
    ua: UserAgent,
    page: Page,
}

/// How a sign-in was answered.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// A session cookie was set.
    SignedIn,
    /// The password was checked and was wrong (or the user unknown).
    Wrong,
    /// 429: no password was checked.
    Throttled,
}

impl LoginForm {
    /// Posts the login form from `ip` (API Gateway's `sourceIp`; `None`: absent).
    async fn sign_in(&self, server: &TestServer, user: &str, pw: &str, ip: Option<&str>) -> Answer {
        let fields = [
            ("request", self.page.field("request").unwrap()),
            ("csrf_token", self.page.field("csrf_token").unwrap()),
            ("action", "login".into()),
            ("username", user.into()),
            ("password", pw.into()),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let cookies = self
            .ua
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/authorize")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookies)
            .body(lambda_http::Body::Text(body))
            .unwrap();
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.http.method = Method::POST;
        context.http.source_ip = ip.map(str::to_owned);
        req.extensions_mut()
            .insert(RequestContext::ApiGatewayV2(context));
        let resp = Endpoint::Authorize.handle(&server.app, req).await;
        let signed_in = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("gatehouse_session="));
        let status = resp.status().as_u16();
        let body = match resp.into_body() {
            lambda_http::Body::Text(t) => t,
            lambda_http::Body::Binary(b) => String::from_utf8(b).unwrap(),
            _ => String::new(),
        };
        classify(status, signed_in, &body)
    }
}

fn classify(status: u16, signed_in: bool, body: &str) -> Answer {
    match status {
        _ if signed_in => Answer::SignedIn,
        200 if body.contains(WRONG) => Answer::Wrong,
        429 if body.contains(THROTTLED) => Answer::Throttled,
        _ => panic!("unexpected answer {status}: {body}"),
    }
}

/// The slots held under `key` in the current window.
async fn held(server: &TestServer, key: &str) -> u64 {
    let window = gatehouse_core::app::now() / server.app.config.login_failure_window;
    server
        .app
        .store
        .slots_held(&[format!("{key}:{window}")])
        .await
        .unwrap()[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_five_simultaneous_wrong_passwords_get_at_most_five_password_checks() {
    let (server, form) = setup(|_| {}).await;
    let max = server.app.config.login_max_failures_per_user_source;
    assert_eq!(max, 5, "the default");
    let request = form.page.field("request").unwrap();
    let csrf = form.page.field("csrf_token").unwrap();
    let url = server.url("/authorize");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..25 {
        let mut ua = UserAgent {
            cookies: form.ua.cookies.clone(),
        };
        let (request, csrf, url) = (request.clone(), csrf.clone(), url.clone());
        tasks.spawn(async move {
            let page = ua
                .post(
                    &url,
                    &[
                        ("request", request.as_str()),
                        ("csrf_token", csrf.as_str()),
                        ("action", "login"),
                        ("username", "alice"),
                        ("password", "wrong password"),
                    ],
                )
                .await;
            let signed_in = page
                .headers
                .get_all("set-cookie")
                .iter()
                .any(|c| c.to_str().unwrap().starts_with("gatehouse_session="));
            classify(page.status, signed_in, &page.body)
        });
    }
    let answers = tasks.join_all().await;
    let checked = answers.iter().filter(|a| **a == Answer::Wrong).count() as u64;
    let throttled = answers.iter().filter(|a| **a == Answer::Throttled).count() as u64;
    assert!(
        (1..=max).contains(&checked),
        "{checked} password checks: {answers:?}"
    );
    assert_eq!(checked + throttled, 25, "{answers:?}");
    // Every checked attempt holds its slot; none of the throttled took one.
    assert_eq!(held(&server, "pair:alice:127.0.0.1").await, checked);
    assert_eq!(held(&server, "source:127.0.0.1").await, checked);
    assert_eq!(held(&server, "user:alice").await, checked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_signs_in_from_another_address_while_an_attacker_at_one_is_throttled() {
    let (server, form) = setup(|_| {}).await;
    let attacker = Some("203.0.113.66");
    for i in 0..5 {
        assert_eq!(
            form.sign_in(&server, "alice", "wrong password", attacker)
                .await,
            Answer::Wrong,
            "attempt {i}"
        );
    }
    assert_eq!(
        form.sign_in(&server, "alice", PASSWORD, attacker).await,
        Answer::Throttled,
        "the attacker's address is throttled for alice, even with the right password"
    );
    assert_eq!(
        form.sign_in(&server, "alice", PASSWORD, Some("198.51.100.7"))
            .await,
        Answer::SignedIn,
        "alice from her own address"
    );
    // The owner's success forgets her pair, so her own successes never add up.
    for _ in 0..6 {
        assert_eq!(
            form.sign_in(&server, "alice", PASSWORD, Some("198.51.100.7"))
                .await,
            Answer::SignedIn
        );
    }
    assert_eq!(held(&server, "pair:alice:198.51.100.7").await, 0);
    assert_eq!(
        held(&server, "user:alice").await,
        5,
        "the attacker's count stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_in_one_ipv6_64_share_their_limit() {
    let (server, form) = setup(|_| {}).await;
    for i in 1..=5 {
        let ip = format!("2001:db8:1:2::{i}");
        assert_eq!(
            form.sign_in(&server, "alice", "wrong password", Some(&ip))
                .await,
            Answer::Wrong
        );
    }
    assert_eq!(
        form.sign_in(&server, "alice", PASSWORD, Some("2001:db8:1:2:ffff::99"))
            .await,
        Answer::Throttled,
        "another address of the same /64"
    );
    assert_eq!(
        form.sign_in(&server, "alice", PASSWORD, Some("2001:db8:1:3::1"))
            .await,
        Answer::SignedIn,
        "the next /64"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_per_user_ceiling_each_address_gets_one_attempt() {
    let (server, form) = setup(|c| c.login_slow_down_after_failures_per_user = 6).await;
    // A distributed attacker: one failure from each of six addresses.
    let attackers: Vec<String> = (1..=6).map(|i| format!("203.0.113.{i}")).collect();
    for ip in &attackers {
        assert_eq!(
            form.sign_in(&server, "alice", "wrong password", Some(ip))
                .await,
            Answer::Wrong
        );
    }
    assert_eq!(held(&server, "user:alice").await, 6, "the ceiling");
    // Past it, an address that had four attempts left has one.
    let used = Some(attackers[0].as_str());
    assert_eq!(
        form.sign_in(&server, "alice", "wrong password", used).await,
        Answer::Wrong
    );
    assert_eq!(
        form.sign_in(&server, "alice", "wrong password", used).await,
        Answer::Throttled
    );
    // The owner from a new address gets one attempt, and it succeeds...
    let owner = Some("198.51.100.7");
    assert_eq!(
        form.sign_in(&server, "alice", PASSWORD, owner).await,
        Answer::SignedIn
    );
    // ...and that address has had its one attempt for the window.
    assert_eq!(
        form.sign_in(&server, "alice", "wrong password", owner)
            .await,
        Answer::Throttled
    );
    // Another new address: one wrong attempt is checked, the second is throttled.
    let fresh = Some("198.51.100.8");
    assert_eq!(
        form.sign_in(&server, "alice", "wrong password", fresh)
            .await,
        Answer::Wrong
    );
    assert_eq!(
        form.sign_in(&server, "alice", "wrong password", fresh)
            .await,
        Answer::Throttled
    );
    // Other usernames are not slowed.
    server.user("bob").await;
    for _ in 0..2 {
        assert_eq!(
            form.sign_in(&server, "bob", "wrong password", fresh).await,
            Answer::Wrong
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_without_a_source_address_share_one_unknown_source() {
    let (server, form) = setup(|_| {}).await;
    for _ in 0..5 {
        assert_eq!(
            form.sign_in(&server, "alice", "wrong password", None).await,
            Answer::Wrong
        );
    }
    assert_eq!(
        form.sign_in(&server, "alice", PASSWORD, None).await,
        Answer::Throttled
    );
    assert_eq!(
        form.sign_in(&server, "alice", PASSWORD, Some("not an address"))
            .await,
        Answer::Throttled,
        "an unreadable address is the same unknown source"
    );
    assert_eq!(held(&server, "pair:alice:unknown").await, 5);
    assert_eq!(held(&server, "source:unknown").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_source_limit_holds_across_usernames_and_invalid_names() {
    let (server, form) = setup(|c| c.login_max_failures_per_source = 4).await;
    let ip = Some("203.0.113.9");
    for user in ["bob", "carol", "not a valid name!", ""] {
        assert_eq!(
            form.sign_in(&server, user, "wrong password", ip).await,
            Answer::Wrong,
            "{user:?}"
        );
    }
    assert_eq!(
        form.sign_in(&server, "alice", PASSWORD, ip).await,
        Answer::Throttled,
        "alice never failed; the address did"
    );
    assert_eq!(held(&server, "source:203.0.113.9").await, 4);
}

/// A user without a password (created for an upstream identity) is refused
/// whatever is typed, empty or not, as a wrong password is, and the attempt
/// counts like one; `user set-password` gives them a password that works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_a_password_never_signs_in_with_one() {
    use gatehouse_core::domain::user::User;
    use gatehouse_core::store::UserStore;
    let (server, form) = setup(|_| {}).await;
    server
        .app
        .store
        .create_user(&User {
            username: "fed".into(),
            user_id: "id-fed".into(),
            password_hash: None,
            disabled: false,
            created_at: 1,
            password_changed_at: 1,
            epoch: 0,
            profile: Default::default(),
        })
        .await
        .unwrap();
    let ip = Some("192.0.2.50");
    for pw in ["", PASSWORD, "gatehouse-unknown-user-placeholder"] {
        assert_eq!(
            form.sign_in(&server, "fed", pw, ip).await,
            Answer::Wrong,
            "{pw:?}"
        );
    }
    assert_eq!(held(&server, "pair:fed:192.0.2.50").await, 3);
    gatehouse_core::registration::set_user_password(&server.app.store, "fed", PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        form.sign_in(&server, "fed", PASSWORD, Some("192.0.2.51"))
            .await,
        Answer::SignedIn
    );
}
