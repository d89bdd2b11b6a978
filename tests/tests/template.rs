//! `template.yaml`, read as data (YAML with its CloudFormation tags):
//! - every route API Gateway is given is served by `gatehouse serve`, by the
//!   function whose binary serves that endpoint, and the other way round;
//! - every table has TTL, point-in-time recovery, deletion protection, KMS
//!   encryption and is retained;
//! - each function's IAM policy grants exactly the DynamoDB actions, on exactly
//!   the tables and indexes, that the function is seen to use when every flow is
//!   run against the real engine: nothing missing, nothing more.

use gatehouse_core::App;
use gatehouse_core::routes::{Endpoint, FEDERATION_CALLBACK_PATH, ROUTES};
use gatehouse_core::store::{TableNames, UserStore};
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, UserAgent, param, pkce, tokens};
use gatehouse_tests::{Access, TestServer, http};
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

fn template() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    serde_norway::from_str(&text).expect("template.yaml is YAML")
}

/// `(logical id, resource)` of every resource of `kind`.
fn resources<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().unwrap(), r))
        .collect()
}

/// The logical id a `!Ref X`, `!GetAtt X.Arn` or `!Sub "${X.Arn}/index/i"`
/// names: `X`, or `X/index/i`.
fn referenced(v: &Value) -> String {
    match v {
        Value::Tagged(t) => {
            let inner = t.value.as_str().unwrap_or_else(|| panic!("{v:?}"));
            match t.tag.to_string().as_str() {
                "!Ref" => inner.to_owned(),
                "!GetAtt" => inner.strip_suffix(".Arn").expect("an Arn").to_owned(),
                "!Sub" => inner.replacen("${", "", 1).replacen(".Arn}", "", 1),
                other => panic!("unexpected tag {other}"),
            }
        }
        other => panic!("a reference was expected, not {other:?}"),
    }
}

/// Each function, by the binary it runs.
fn functions(t: &Value) -> BTreeMap<String, &Value> {
    resources(t, "AWS::Serverless::Function")
        .into_iter()
        .map(|(_, f)| {
            let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
            (binary.to_owned(), f)
        })
        .collect()
}

/// `(method, path)` of each function's HTTP API events.
fn routes_of(function: &Value) -> Vec<(String, String)> {
    let Some(events) = function["Properties"]["Events"].as_mapping() else {
        return vec![];
    };
    events
        .values()
        .filter(|e| {
            // The one other event source: the delivery queue's consumer.
            assert!(
                matches!(e["Type"].as_str(), Some("HttpApi" | "SQS")),
                "{e:?}"
            );
            e["Type"] == "HttpApi"
        })
        .map(|e| {
            assert_eq!(referenced(&e["Properties"]["ApiId"]), "HttpApi");
            let p = &e["Properties"];
            (
                p["Method"].as_str().unwrap().to_owned(),
                p["Path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The endpoints a function binary serves, read from its `main.rs`.
fn endpoints_served_by(binary: &str) -> BTreeSet<String> {
    let main = std::fs::read_to_string(format!(
        "{}/../functions/{binary}/src/main.rs",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    main.split("Endpoint::")
        .skip(1)
        .map(|s| {
            s.chars()
                .take_while(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .collect()
}

#[test]
fn every_template_route_is_served_locally_by_the_same_endpoint_and_the_other_way_round() {
    let t = template();
    let mut in_template = BTreeMap::new();
    for (binary, f) in functions(&t) {
        for (method, path) in routes_of(f) {
            in_template.insert((method, path.clone()), binary.clone());
        }
    }
    let paths: BTreeSet<&str> = in_template.keys().map(|(_, p)| p.as_str()).collect();
    // The routes of fixed paths, and each provider's redirect URI.
    let routes = ROUTES
        .iter()
        .copied()
        .chain([(FEDERATION_CALLBACK_PATH, Endpoint::FederationCallback)]);
    let served: BTreeSet<&str> = routes.clone().map(|(p, _)| p).collect();
    assert_eq!(paths, served);
    assert_eq!(
        Endpoint::for_path("/federation/google/callback"),
        Some(Endpoint::FederationCallback)
    );
    for (path, endpoint) in routes {
        for ((_, p), binary) in &in_template {
            if p == path {
                assert!(
                    endpoints_served_by(binary).contains(&format!("{endpoint:?}")),
                    "{path} goes to `{binary}`, which does not serve {endpoint:?}"
                );
            }
        }
    }
    let methods = |path: &str| -> BTreeSet<&str> {
        in_template
            .keys()
            .filter(|(_, p)| p == path)
            .map(|(m, _)| m.as_str())
            .collect()
    };
    // The form endpoints take any method, so the function answers 405 itself.
    for path in ["/token", "/introspect", "/revoke"] {
        assert_eq!(methods(path), BTreeSet::from(["ANY"]), "{path}");
    }
    assert_eq!(methods("/authorize"), BTreeSet::from(["GET", "POST"]));
    // UserInfo: GET and POST (OpenID Connect Core §5.3), OPTIONS for CORS preflights.
    assert_eq!(
        methods("/userinfo"),
        BTreeSet::from(["GET", "OPTIONS", "POST"])
    );
    assert_eq!(methods("/logout"), BTreeSet::from(["GET", "POST"]));
    assert_eq!(methods(FEDERATION_CALLBACK_PATH), BTreeSet::from(["GET"]));
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        assert_eq!(methods(path), BTreeSet::from(["GET", "OPTIONS"]), "{path}");
    }
}

#[test]
fn every_table_expires_items_is_recoverable_protected_encrypted_and_retained() {
    let t = template();
    let tables = resources(&t, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 13);
    for (name, table) in tables {
        let p = &table["Properties"];
        assert_eq!(table["DeletionPolicy"], "Retain", "{name}");
        assert_eq!(table["UpdateReplacePolicy"], "Retain", "{name}");
        assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "{name}");
        assert_eq!(p["TimeToLiveSpecification"]["Enabled"], true, "{name}");
        assert_eq!(
            p["TimeToLiveSpecification"]["AttributeName"], "ttl",
            "{name}"
        );
        assert_eq!(
            p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
            "{name}"
        );
        assert_eq!(p["SSESpecification"]["SSEEnabled"], true, "{name}");
        assert_eq!(p["SSESpecification"]["SSEType"], "KMS", "{name}");
        assert_eq!(
            referenced(&p["DeletionProtectionEnabled"]),
            "TableDeletionProtection",
            "{name}"
        );
    }
}

#[test]
fn every_function_is_given_every_table_name() {
    let t = template();
    let env = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    for (name, _) in resources(&t, "AWS::DynamoDB::Table") {
        let var = format!(
            "GATEHOUSE_{}_TABLE",
            match name {
                "LoginAttemptsTable" => "LOGIN_ATTEMPTS".to_owned(),
                "UpstreamStatesTable" => "UPSTREAM_STATES".to_owned(),
                n => n.trim_end_matches("Table").to_uppercase(),
            }
        );
        let value = env
            .get(var.as_str())
            .unwrap_or_else(|| panic!("{var} is not set"));
        assert_eq!(referenced(value), name);
    }
}

/// `gatehouse --aws --stack` reads each table's name from the output
/// `gatehouse::stack::TABLE_OUTPUTS` names: the template declares each of them,
/// as a `!Ref` of that table, and one for every table.
#[test]
fn the_stack_outputs_the_cli_reads_name_every_table() {
    let t = template();
    let outputs = t["Outputs"].as_mapping().expect("Outputs");
    let mut named = BTreeSet::new();
    for (table, output) in gatehouse::stack::TABLE_OUTPUTS {
        let value = outputs
            .get(output)
            .unwrap_or_else(|| panic!("no output {output} for the {table} table"));
        let resource = referenced(&value["Value"]);
        let expected = format!(
            "{}Table",
            table
                .split('-')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect::<String>()
        );
        assert_eq!(resource, expected, "{output}");
        named.insert(resource);
    }
    let tables: BTreeSet<String> = resources(&t, "AWS::DynamoDB::Table")
        .into_iter()
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(named, tables);
}

/// `(action, table or index)` pairs each function's policy grants.
fn granted(t: &Value) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut all = BTreeMap::new();
    for (binary, f) in functions(t) {
        let mut grants = BTreeSet::new();
        let policies = f["Properties"]["Policies"].as_sequence().expect("Policies");
        for policy in policies {
            // Inline statements only: no managed policy, no SAM policy template.
            let statements = policy["Statement"].as_sequence().expect("a Statement");
            for s in statements {
                assert_eq!(s["Effect"], "Allow");
                let resources = match &s["Resource"] {
                    Value::Sequence(rs) => rs.iter().map(referenced).collect(),
                    r => vec![referenced(r)],
                };
                for action in s["Action"].as_sequence().expect("Action list") {
                    let action = action.as_str().unwrap();
                    assert!(!action.contains('*'), "{binary}: {action}");
                    // Besides DynamoDB: sending back-channel logout deliveries
                    // to their queue, and nothing else of SQS.
                    if let Some(sqs) = action.strip_prefix("sqs:") {
                        assert_eq!(sqs, "SendMessage", "{binary}");
                        assert_eq!(resources, ["LogoutDeliveryQueue"], "{binary}");
                        continue;
                    }
                    let action = action.strip_prefix("dynamodb:").expect("DynamoDB only");
                    for r in &resources {
                        grants.insert((action.to_owned(), r.clone()));
                    }
                }
            }
        }
        all.insert(binary, grants);
    }
    all
}

/// A function's own process, as on Lambda: a fresh `App` (nothing cached, so a
/// cold start reads, or creates, the HMAC keys it needs) on the same tables and
/// store, behind its own port. Each function's flows run on one of these, so no
/// function is seen to benefit from what another one read.
async fn cold_start(server: &TestServer) -> TestServer {
    let app = Arc::new(App::new(
        server.app.config.clone(),
        server.app.store.clone(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(gatehouse::server::serve(listener, app.clone()));
    TestServer {
        base,
        app,
        engine: server.engine.clone(),
        dynamodb_calls: server.dynamodb_calls.clone(),
    }
}

/// What each function is seen to do, by binary.
#[derive(Default)]
struct Seen {
    /// `(action, table or index)` pairs.
    accesses: BTreeMap<String, BTreeSet<(String, String)>>,
    /// Accesses to items of the secrets table.
    secret_items: BTreeMap<String, Vec<Access>>,
    /// Accesses to the users table.
    user_items: BTreeMap<String, Vec<Access>>,
}

impl Seen {
    /// Gives `binary` the accesses `server`'s store made since the last call.
    fn record(&mut self, server: &TestServer, binary: &str) {
        let tables = &server.app.config.tables;
        let logical: BTreeMap<&str, &str> = [
            (tables.clients.as_str(), "ClientsTable"),
            (tables.tokens.as_str(), "TokensTable"),
            (tables.grants.as_str(), "GrantsTable"),
            (tables.sessions.as_str(), "SessionsTable"),
            (tables.keys.as_str(), "KeysTable"),
            (tables.secrets.as_str(), "SecretsTable"),
            (tables.users.as_str(), "UsersTable"),
            (tables.consents.as_str(), "ConsentsTable"),
            (tables.login_attempts.as_str(), "LoginAttemptsTable"),
            (tables.origins.as_str(), "OriginsTable"),
            (tables.providers.as_str(), "ProvidersTable"),
            (tables.upstream_states.as_str(), "UpstreamStatesTable"),
            (tables.identities.as_str(), "IdentitiesTable"),
        ]
        .into();
        for a in server.dynamodb_calls.take_accesses() {
            let (table, index) = a.table.split_once("/index/").unwrap_or((&a.table, ""));
            let mut name = logical[table].to_owned();
            if !index.is_empty() {
                name = format!("{name}/index/{index}");
            }
            let items = match name.as_str() {
                "SecretsTable" => Some(&mut self.secret_items),
                "UsersTable" => Some(&mut self.user_items),
                _ => None,
            };
            if let Some(items) = items {
                items.entry(binary.to_owned()).or_default().push(a.clone());
            }
            self.accesses
                .entry(binary.to_owned())
                .or_default()
                .insert((a.action, name));
        }
    }
}

/// Runs every flow, each function's on its own cold start, recording which
/// DynamoDB accesses each function makes.
async fn observed() -> Seen {
    let server = TestServer::start_with(|c| {
        c.scopes = gatehouse_core::domain::scope::ScopeCatalog::parse(
            "read=Read;write=Write;openid=Sign-in;profile=Profile;email=E-mail",
        )
        .unwrap();
    })
    .await;
    let mut seen = Seen::default();

    // Set-up through the store, as the command line does: not a function's work.
    server.user("alice").await;
    server.user("bob").await;
    let web = server
        .code_client(
            gatehouse_core::domain::client::ClientType::Confidential,
            "read",
        )
        .await;
    let rs = server.resource_server().await;
    let cc = server.cc_client("read").await;
    // Two upstream providers, and a local user with their e-mail address.
    let _one = server.scripted_upstream("one", false).await;
    let _two = server.scripted_upstream("two", false).await;
    gatehouse_core::registration::create_user_with_profile(
        &server.app.store,
        "carol",
        PASSWORD,
        &gatehouse_core::domain::user::ProfileChange {
            email: Some("alice@upstream.example".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    server.dynamodb_calls.take_accesses();

    // authorize: a failed login, a login, consent; then a second grant on the
    // session; and bob's grant.
    let authorize = cold_start(&server).await;
    let (verifier, challenge) = pkce();
    let query = authorize.authorize_query(&web, CONFIDENTIAL_REDIRECT, "read", &challenge);
    let mut ua = UserAgent::new();
    let page = ua.get(&authorize.url(&format!("/authorize?{query}"))).await;
    let page = ua
        .login(&authorize, &page, "alice", "not the password")
        .await;
    assert!(page.is_login());
    let page = ua.login(&authorize, &page, "alice", PASSWORD).await;
    let page = ua.consent(&authorize, &page, "approve").await;
    let code = param(&page.location().unwrap(), "code").unwrap();
    let (verifier2, challenge2) = pkce();
    let query2 = authorize.authorize_query(&web, CONFIDENTIAL_REDIRECT, "read", &challenge2);
    let page = ua
        .get(&authorize.url(&format!("/authorize?{query2}")))
        .await;
    let code2 = param(&page.location().unwrap(), "code").unwrap();
    let (verifier3, challenge3) = pkce();
    let query3 = authorize.authorize_query(&web, CONFIDENTIAL_REDIRECT, "read", &challenge3);
    let page = UserAgent::new().authorize(&authorize, &query3, "bob").await;
    let code3 = param(&page.location().unwrap(), "code").unwrap();
    // An `id_token_hint` is checked against the published keys.
    let page = UserAgent::new()
        .get(&authorize.url(&format!("/authorize?{query3}&id_token_hint=x.y.z")))
        .await;
    assert_eq!(
        param(&page.location().unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
    // Sign-in through upstream providers: the linking page, then a user made
    // just in time (provider one) and a link by carol's password (provider two).
    for (provider, action) in [("one", "new_user"), ("two", "link")] {
        let (_, challenge) = pkce();
        let query = authorize.authorize_query(&web, CONFIDENTIAL_REDIRECT, "read", &challenge);
        let mut ua = UserAgent::new();
        let mut page = ua
            .get(&authorize.url(&format!("/authorize?{query}&identity_provider={provider}")))
            .await;
        while page.status == 302
            && !page
                .location()
                .unwrap()
                .as_str()
                .starts_with(CONFIDENTIAL_REDIRECT)
        {
            page = ua.get(page.location().unwrap().as_str()).await;
        }
        let request = page.field("request").expect("the linking page");
        let csrf = page.field("csrf_token").unwrap();
        let pending = page.field("pending").unwrap();
        let page = ua
            .post(
                &authorize.url("/authorize"),
                &[
                    ("request", request.as_str()),
                    ("csrf_token", &csrf),
                    ("pending", &pending),
                    ("action", action),
                    ("username", "carol"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        let page = ua.consent(&authorize, &page, "approve").await;
        assert!(
            param(&page.location().unwrap(), "code").is_some(),
            "{provider}"
        );
    }
    seen.record(&server, "authorize");

    // token: code exchange, refresh, a replayed code (revokes its grant), client
    // credentials.
    let token = cold_start(&server).await;
    let (_, refresh) = tokens(
        &token
            .exchange_code(&web, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await,
    );
    let (user_access, _) = tokens(&token.refresh_grant(&web, &refresh, None).await);
    let (user_access2, refresh2) = tokens(
        &token
            .exchange_code(&web, &code2, CONFIDENTIAL_REDIRECT, &verifier2)
            .await,
    );
    let replay = token
        .exchange_code(&web, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(replay.0, 400);
    let cc_access = token.cc_token(&cc, "read").await;
    let preflight = token.preflight("/token", "https://app.example").await;
    assert_eq!(preflight.0, 204);
    seen.record(&server, "token");
    // Set-up: bob signs out everywhere (`gatehouse users end-sessions`)...
    server.app.store.end_sessions("bob").await.unwrap();
    server.dynamodb_calls.take_accesses();
    // ...so his code's redemption fails its transaction's user check, and the
    // function reads the user and client to tell why.
    let stale = token
        .exchange_code(&web, &code3, CONFIDENTIAL_REDIRECT, &verifier3)
        .await;
    assert_eq!(stale.0, 400, "{}", stale.2);
    seen.record(&server, "token");

    // introspect: a user's access token (of a revoked grant and of a live one), a
    // refresh token and a client's token.
    let introspect = cold_start(&server).await;
    assert!(
        !introspect.is_active(&rs, &user_access).await,
        "its grant was revoked"
    );
    assert!(introspect.is_active(&rs, &user_access2).await);
    assert!(introspect.is_active(&rs, &refresh2).await);
    assert!(introspect.is_active(&rs, &cc_access).await);
    seen.record(&server, "introspect");

    // authorizer: a user's access token on an HTTP API route.
    let authorizer = cold_start(&server).await;
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/authorizer/http-api-v2.json"
    );
    let event = std::fs::read_to_string(fixture)
        .unwrap()
        .replace("<access-token>", &user_access2);
    let event: serde_json::Value = serde_json::from_str(&event).unwrap();
    let routes = gatehouse_core::authorizer::routes::RouteScopes::parse("").unwrap();
    let answer = gatehouse_core::authorizer::handle(&authorizer.app, &routes, &event)
        .await
        .unwrap();
    let answer = serde_json::to_value(answer).unwrap();
    assert_eq!(answer["policyDocument"]["Statement"][0]["Effect"], "Allow");
    seen.record(&server, "authorizer");

    // revoke: a refresh token (its whole grant) and an access token.
    let revoke = cold_start(&server).await;
    assert_eq!(revoke.revoke_as(&web, &refresh2).await.0, 200);
    assert_eq!(revoke.revoke_as(&cc, &cc_access).await.0, 200);
    assert_eq!(
        revoke.preflight("/revoke", "https://app.example").await.0,
        204
    );
    seen.record(&server, "revoke");

    // userinfo: a user's token with `openid profile email`, by GET and by POST.
    let oidc = server
        .code_client(
            gatehouse_core::domain::client::ClientType::Confidential,
            "openid profile email",
        )
        .await;
    let (verifier4, challenge4) = pkce();
    let query4 = server.authorize_query(
        &oidc,
        CONFIDENTIAL_REDIRECT,
        "openid profile email",
        &challenge4,
    );
    let page = UserAgent::new().authorize(&server, &query4, "alice").await;
    let code4 = param(&page.location().unwrap(), "code").unwrap();
    // An OpenID grant without offline_access: an access token, no refresh token.
    let answer = server
        .exchange_code(&oidc, &code4, CONFIDENTIAL_REDIRECT, &verifier4)
        .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    let oidc_access = answer.2["access_token"].as_str().unwrap().to_owned();
    server.dynamodb_calls.take_accesses();
    let userinfo = cold_start(&server).await;
    let resp = http()
        .get(userinfo.url("/userinfo"))
        .bearer_auth(&oidc_access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = http()
        .post(userinfo.url("/userinfo"))
        .form(&[("access_token", oidc_access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A browser app's preflight reads the origins table.
    let preflight = userinfo.preflight("/userinfo", "https://app.example").await;
    assert_eq!(preflight.0, 204);
    seen.record(&server, "userinfo");

    // logout: alice in one browser with her ID token as the hint (ended at
    // once), and in another without one (the confirmation page, then its form).
    let (verifier5, challenge5) = pkce();
    let query5 = server.authorize_query(&oidc, CONFIDENTIAL_REDIRECT, "openid", &challenge5);
    let mut with_hint = UserAgent::new();
    let page = with_hint.authorize(&server, &query5, "alice").await;
    let code5 = param(&page.location().unwrap(), "code").unwrap();
    let answer = server
        .exchange_code(&oidc, &code5, CONFIDENTIAL_REDIRECT, &verifier5)
        .await;
    let hint = answer.2["id_token"].as_str().unwrap().to_owned();
    let (_, challenge6) = pkce();
    let query6 = server.authorize_query(&oidc, CONFIDENTIAL_REDIRECT, "openid", &challenge6);
    let mut without_hint = UserAgent::new();
    without_hint.authorize(&server, &query6, "alice").await;
    server.dynamodb_calls.take_accesses();
    let logout = cold_start(&server).await;
    let page = with_hint
        .get(&logout.url(&format!("/logout?id_token_hint={hint}")))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let confirm = without_hint
        .get(&logout.url(&format!("/logout?client_id={}", oidc.id)))
        .await;
    assert!(confirm.body.contains("Sign out of Gatehouse?"));
    let csrf = confirm.field("csrf_token").unwrap();
    let page = without_hint
        .post(
            &logout.url("/logout"),
            &[
                ("client_id", oidc.id.as_str()),
                ("csrf_token", &csrf),
                ("action", "logout"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    seen.record(&server, "logout");

    // discovery: metadata and the JWKS.
    let discovery = cold_start(&server).await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        let resp = http().get(discovery.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            discovery.preflight(path, "https://any.example").await.0,
            204
        );
    }
    seen.record(&server, "discovery");

    // backchannel_logout: a queued delivery, for a client with a back-channel
    // logout URI (on loopback, answering 204) and for one deleted since.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let logout_uri = format!("http://{}/bc", receiver.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = receiver.accept().await {
            gatehouse_tests::loopback::read_request(&mut stream).await;
            gatehouse_tests::loopback::respond(
                stream,
                "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
            )
            .await;
        }
    });
    let rp = server
        .code_client_with(
            gatehouse_core::domain::client::ClientType::Confidential,
            "openid",
            |r| r.backchannel_logout_uri = Some(logout_uri.clone()),
        )
        .await;
    server.dynamodb_calls.take_accesses();
    let consumer = cold_start(&server).await;
    for client_id in [rp.id.as_str(), "deleted-client"] {
        let message = gatehouse_core::backchannel_logout::LogoutMessage {
            client_id: client_id.into(),
            sid: "sid-1".into(),
            sub: "sub-1".into(),
        };
        gatehouse_core::backchannel_logout::deliver_message(&consumer.app, &message)
            .await
            .expect("delivered");
    }
    seen.record(&server, "backchannel_logout");

    // A deployment that has issued no refresh token yet (new, or with client
    // credentials only): a refresh-shaped value sent to the revocation or the
    // introspection endpoint makes that function create the refresh key.
    for binary in ["revoke", "introspect"] {
        let fresh = TestServer::start().await;
        let client = fresh.resource_server().await;
        fresh.dynamodb_calls.take_accesses();
        let function = cold_start(&fresh).await;
        // Well formed, but under another key.
        let forged = gatehouse_core::tokens::refresh::mint(
            &gatehouse_core::secret::Secret::new("not the refresh key"),
            "grant1",
            1,
        );
        let forged = forged.expose();
        if binary == "revoke" {
            assert_eq!(function.revoke_as(&client, forged).await.0, 200);
        } else {
            assert!(!function.is_active(&client, forged).await);
        }
        seen.record(&fresh, binary);
    }
    seen
}

/// The secrets-table items each function may reach (a trailing `*` is a prefix):
/// only the token function signs tokens for clients (and the back-channel logout
/// function logout tokens), only the authorization endpoint sets sessions (the
/// logout endpoint reads the session key for its form's CSRF token), and the
/// functions that check refresh tokens read the refresh key. No other
/// function (discovery, the Lambda authorizer) reaches the table at all.
const SECRETS_OF: [(&str, &[&str]); 6] = [
    ("authorize", &["provider/*", "session-key"]),
    ("backchannel_logout", &["signing/*"]),
    ("introspect", &["refresh-key"]),
    ("logout", &["session-key"]),
    ("revoke", &["refresh-key"]),
    ("token", &["refresh-key", "signing/*"]),
];

/// What a function that needs only a user's state may read of the user: never
/// the password hash.
const USER_STATE: &[&str] = &["disabled", "epoch", "user_id", "username"];

/// What the UserInfo endpoint reads of a user: the state (the token's owner
/// check) and the profile claims (with `created_at`, the `updated_at` of a user
/// stored before profiles).
const USER_PROFILE: &[&str] = &[
    "created_at",
    "disabled",
    "email",
    "email_verified",
    "epoch",
    "family_name",
    "given_name",
    "name",
    "updated_at",
    "user_id",
    "username",
];

/// The users-table attributes each function other than sign-in may read.
const USER_ATTRIBUTES_OF: [(&str, &[&str]); 5] = [
    ("authorizer", USER_STATE),
    ("introspect", USER_STATE),
    ("logout", USER_STATE),
    ("token", USER_STATE),
    ("userinfo", USER_PROFILE),
];

fn statements<'a>(f: &'a Value, table: &str) -> Vec<&'a Value> {
    f["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|p| p["Statement"].as_sequence().unwrap())
        .filter(|s| {
            let resources = match &s["Resource"] {
                Value::Sequence(rs) => rs.iter().collect(),
                r => vec![r],
            };
            resources.iter().any(|r| referenced(r) == table)
        })
        .collect()
}

fn actions(s: &Value) -> Vec<&str> {
    s["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().strip_prefix("dynamodb:").unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|vs| vs.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// The leading keys a secrets-table statement allows, as patterns.
fn leading_keys(s: &Value) -> Vec<String> {
    let c = &s["Condition"];
    let mut keys = strings(&c["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]);
    keys.extend(strings(
        &c["ForAllValues:StringLike"]["dynamodb:LeadingKeys"],
    ));
    keys
}

fn matches(pattern: &str, key: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => key.starts_with(prefix),
        None => pattern == key,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_function_is_granted_exactly_the_dynamodb_access_it_uses() {
    let t = template();
    let granted = granted(&t);
    let seen = observed().await;
    for (binary, used) in &seen.accesses {
        eprintln!("{binary}:");
        for (action, table) in used {
            eprintln!("  {action} {table}");
        }
    }
    assert_eq!(
        granted.keys().collect::<Vec<_>>(),
        seen.accesses.keys().collect::<Vec<_>>(),
        "every function is observed"
    );
    for (binary, used) in &seen.accesses {
        assert_eq!(
            &granted[binary], used,
            "the `{binary}` function's policy differs from what it uses"
        );
    }
    let functions = functions(&t);

    // The secrets table: each function reaches the items it needs and its policy
    // allows no other, with a leading-key condition on every statement.
    assert_eq!(
        seen.secret_items
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        SECRETS_OF.iter().map(|(b, _)| *b).collect::<Vec<_>>(),
        "the functions that reach the secrets table"
    );
    for (binary, f) in &functions {
        let allowed: &[&str] = SECRETS_OF
            .iter()
            .find(|(b, _)| b == binary)
            .map_or(&[], |(_, a)| a);
        let statements = statements(f, "SecretsTable");
        assert_eq!(statements.is_empty(), allowed.is_empty(), "{binary}");
        let mut patterns = BTreeSet::new();
        for s in &statements {
            assert!(
                matches!(&s["Resource"], Value::Tagged(_)),
                "{binary}: a secrets-table statement names that table alone"
            );
            assert!(!actions(s).contains(&"Scan"), "{binary}: Scan of secrets");
            let keys = leading_keys(s);
            assert!(
                !keys.is_empty(),
                "{binary}: a statement without leading keys"
            );
            for k in keys {
                assert!(allowed.contains(&k.as_str()), "{binary} may reach {k}");
                patterns.insert(k);
            }
        }
        assert_eq!(
            patterns.iter().map(String::as_str).collect::<Vec<_>>(),
            allowed,
            "{binary}"
        );
        for a in seen.secret_items.get(binary.as_str()).into_iter().flatten() {
            let key = a.key.as_deref().expect("a secrets-table item");
            assert!(
                statements
                    .iter()
                    .any(|s| actions(s).contains(&a.action.as_str())
                        && leading_keys(s).iter().any(|p| matches(p, key))),
                "{binary}: {a:?} is not allowed by its policy"
            );
        }
    }
    // The token and back-channel logout functions did sign, so they read a
    // private key; nobody else did.
    for signer in ["token", "backchannel_logout"] {
        assert!(
            seen.secret_items[signer]
                .iter()
                .any(|a| a.key.as_deref().is_some_and(|k| k.starts_with("signing/"))),
            "{signer}"
        );
    }

    // The users table: only the authorization endpoint (sign-in) may read a
    // password hash. Every other function's statements on the table carry an
    // attribute condition naming what it needs (`USER_ATTRIBUTES_OF`, without the
    // hash), and its reads project within that, all of it between them.
    for (_, attrs) in USER_ATTRIBUTES_OF {
        assert!(!attrs.contains(&"password_hash"));
    }
    for (binary, f) in &functions {
        let allowed: Option<&[&str]> = USER_ATTRIBUTES_OF
            .iter()
            .find(|(b, _)| b == binary)
            .map(|(_, a)| *a);
        for s in statements(f, "UsersTable") {
            let c = &s["Condition"];
            if binary == "authorize" {
                assert!(c.is_null(), "sign-in reads the hash");
                continue;
            }
            let allowed = allowed.unwrap_or_else(|| panic!("{binary} reads users"));
            let mut attrs = strings(&c["ForAllValues:StringEquals"]["dynamodb:Attributes"]);
            attrs.sort();
            assert_eq!(attrs, allowed, "{binary}: the attributes it may read");
            assert_eq!(
                c["StringEqualsIfExists"]["dynamodb:Select"], "SPECIFIC_ATTRIBUTES",
                "{binary}"
            );
            assert_eq!(c["StringEqualsIfExists"]["dynamodb:ReturnValues"], "NONE");
        }
        if binary == "authorize" {
            continue;
        }
        let mut read = BTreeSet::new();
        for a in seen.user_items.get(binary.as_str()).into_iter().flatten() {
            if a.action == "ConditionCheckItem" {
                continue;
            }
            let projected = a.attributes.clone().expect("a projection");
            let allowed = allowed.unwrap_or_else(|| panic!("{binary} reads users"));
            for attr in &projected {
                assert!(allowed.contains(&attr.as_str()), "{binary}: {a:?}");
            }
            read.extend(projected);
        }
        if let Some(allowed) = allowed {
            assert_eq!(
                read.iter().map(String::as_str).collect::<Vec<_>>(),
                allowed,
                "{binary}: what it reads of users"
            );
        }
    }
    assert_eq!(
        seen.user_items
            .keys()
            .filter(|b| *b != "authorize")
            .map(String::as_str)
            .collect::<Vec<_>>(),
        USER_ATTRIBUTES_OF
            .iter()
            .map(|(b, _)| *b)
            .collect::<Vec<_>>(),
        "the functions that read users are observed doing so"
    );
}

/// Back-channel logout deliveries on AWS: the queue, with a dead-letter queue
/// after a bounded number of receives, encrypted; its consumer, reporting batch
/// item failures, with a timeout the queue's visibility outlasts; the queue's
/// URL in every function's environment and in the stack output the CLI reads.
#[test]
fn logout_deliveries_go_through_a_queue_with_a_dead_letter_queue_and_their_consumer() {
    let t = template();
    let queues: BTreeMap<&str, &Value> = resources(&t, "AWS::SQS::Queue").into_iter().collect();
    assert_eq!(
        queues.keys().copied().collect::<Vec<_>>(),
        ["LogoutDeliveryDeadLetterQueue", "LogoutDeliveryQueue"]
    );
    let queue = &queues["LogoutDeliveryQueue"]["Properties"];
    let redrive = &queue["RedrivePolicy"];
    assert_eq!(
        referenced(&redrive["deadLetterTargetArn"]),
        "LogoutDeliveryDeadLetterQueue"
    );
    let receives = redrive["maxReceiveCount"].as_u64().unwrap();
    assert!((1..=10).contains(&receives), "{receives}");
    for (name, q) in &queues {
        assert_eq!(q["Properties"]["SqsManagedSseEnabled"], true, "{name}");
    }

    let functions = functions(&t);
    let consumer = &functions["backchannel_logout"]["Properties"];
    let events = consumer["Events"].as_mapping().unwrap();
    assert_eq!(events.len(), 1);
    let event = events.values().next().unwrap();
    assert_eq!(event["Type"], "SQS");
    assert_eq!(
        referenced(&event["Properties"]["Queue"]),
        "LogoutDeliveryQueue"
    );
    assert_eq!(
        strings(&event["Properties"]["FunctionResponseTypes"]),
        ["ReportBatchItemFailures"]
    );
    let timeout = consumer["Timeout"].as_u64().unwrap();
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout);
    assert!(
        !consumer["Environment"]["Variables"]["GATEHOUSE_ISSUER"].is_null(),
        "no API event names the issuer to the consumer"
    );

    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        referenced(&env["GATEHOUSE_LOGOUT_QUEUE_URL"]),
        "LogoutDeliveryQueue"
    );
    let output = &t["Outputs"][gatehouse::stack::LOGOUT_QUEUE_OUTPUT]["Value"];
    assert_eq!(referenced(output), "LogoutDeliveryQueue");
}

/// `sam local` applies an `--env-vars` file only to variables the template
/// declares: every one in `infra/sam-local/env.json`, and in the
/// `sam-local-env.json` that `gatehouse serve` writes, must be declared.
#[tokio::test]
async fn the_sam_local_env_files_set_only_declared_variables() {
    let t = template();
    let declared = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/sam-local/env.json");
    let checked_in: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let engine = gatehouse::engine::Engine::in_memory().await.unwrap();
    let written = gatehouse::sam_local::env_file(&engine, &TableNames::with_prefix("gatehouse"));
    for env in [checked_in, written] {
        let vars = env["Parameters"].as_object().expect("a Parameters object");
        for name in [
            "GATEHOUSE_DYNAMODB_ENDPOINT",
            "GATEHOUSE_DYNAMODB_ACCESS_KEY_ID",
            "GATEHOUSE_DYNAMODB_SECRET_ACCESS_KEY",
        ] {
            assert!(vars.contains_key(name), "{name}");
        }
        for name in vars.keys() {
            assert!(
                declared.contains_key(name.as_str()),
                "{name} is not declared in template.yaml"
            );
        }
    }
}

/// Whether `path` is a path of the HTTP API route `route`, whose `{name}`
/// segments match any one segment.
fn route_matches(route: &str, path: &str) -> bool {
    let (r, p): (Vec<&str>, Vec<&str>) = (route.split('/').collect(), path.split('/').collect());
    r.len() == p.len()
        && r.iter()
            .zip(&p)
            .all(|(r, p)| (r.starts_with('{') && r.ends_with('}') && !p.is_empty()) || r == p)
}

/// The `sam local invoke` fixtures: each names a route of the template (so it
/// reaches a function), and every routed function has at least one.
#[test]
fn every_routed_function_has_event_fixtures_for_its_routes() {
    let t = template();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/apigw");
    let mut fixtures_of: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(event["version"], "2.0", "{path:?}");
        let (method, route) = event["routeKey"]
            .as_str()
            .and_then(|r| r.split_once(' '))
            .unwrap_or_else(|| panic!("{path:?} has no routeKey"));
        let raw_path = event["rawPath"].as_str().unwrap_or_default();
        assert!(
            route_matches(route, raw_path),
            "{path:?}: {raw_path} is not {route}"
        );
        let function = functions(&t).into_iter().find(|(_, f)| {
            routes_of(f)
                .iter()
                .any(|(m, p)| p == route && (m == method || m == "ANY"))
        });
        let (binary, _) = function.unwrap_or_else(|| panic!("{path:?}: no route {method} {route}"));
        *fixtures_of.entry(binary).or_default() += 1;
    }
    for (binary, f) in functions(&t) {
        if !routes_of(f).is_empty() {
            assert!(fixtures_of.contains_key(&binary), "no fixture for {binary}");
        }
    }
}
