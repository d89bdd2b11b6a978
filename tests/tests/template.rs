//! `template.yaml`, read as data (YAML with its CloudFormation tags):
//! - every route API Gateway is given is served by `gatehouse serve`, by the
//!   function whose binary serves that endpoint, and the other way round;
//! - every table has TTL, point-in-time recovery, deletion protection, KMS
//!   encryption and is retained;
//! - each function's IAM policy grants exactly the DynamoDB actions, on exactly
//!   the tables and indexes, that the function is seen to use when every flow is
//!   run against the real engine: nothing missing, nothing more.

use gatehouse_core::routes::ROUTES;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, UserAgent, param, pkce, tokens};
use gatehouse_tests::{Access, TestServer, http};
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};

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
        .map(|e| {
            assert_eq!(e["Type"], "HttpApi");
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
    let served: BTreeSet<&str> = ROUTES.iter().map(|(p, _)| *p).collect();
    assert_eq!(paths, served);
    for (path, endpoint) in ROUTES {
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
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        assert_eq!(methods(path), BTreeSet::from(["GET"]), "{path}");
    }
}

#[test]
fn every_table_expires_items_is_recoverable_protected_encrypted_and_retained() {
    let t = template();
    let tables = resources(&t, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 6);
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
                n => n.trim_end_matches("Table").to_uppercase(),
            }
        );
        let value = env
            .get(var.as_str())
            .unwrap_or_else(|| panic!("{var} is not set"));
        assert_eq!(referenced(value), name);
    }
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

/// Runs every flow, recording which DynamoDB accesses each function makes.
async fn observed() -> (
    BTreeMap<String, BTreeSet<(String, String)>>,
    Vec<Access>, // the authorize function's accesses to the keys table
) {
    let server = TestServer::start().await;
    let tables = &server.app.config.tables;
    let logical: BTreeMap<&str, &str> = [
        (tables.clients.as_str(), "ClientsTable"),
        (tables.tokens.as_str(), "TokensTable"),
        (tables.keys.as_str(), "KeysTable"),
        (tables.users.as_str(), "UsersTable"),
        (tables.consents.as_str(), "ConsentsTable"),
        (tables.login_attempts.as_str(), "LoginAttemptsTable"),
    ]
    .into();
    let calls = server.dynamodb_calls.clone();
    let mut seen: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut authorize_keys = vec![];
    let mut record = |binary: &str| {
        for a in calls.take_accesses() {
            let (table, index) = a.table.split_once("/index/").unwrap_or((&a.table, ""));
            let mut name = logical[table].to_owned();
            if !index.is_empty() {
                name = format!("{name}/index/{index}");
            }
            if binary == "authorize" && name == "KeysTable" {
                authorize_keys.push(a.clone());
            }
            seen.entry(binary.to_owned())
                .or_default()
                .insert((a.action, name));
        }
    };

    // Set-up through the store, as the command line does: not a function's work.
    server.user("alice").await;
    let web = server
        .code_client(
            gatehouse_core::domain::client::ClientType::Confidential,
            "read",
        )
        .await;
    let rs = server.resource_server().await;
    let cc = server.cc_client("read").await;
    server.dynamodb_calls.take_accesses();

    // authorize: a failed login, a login, consent; then a second grant on the session.
    let (verifier, challenge) = pkce();
    let query = server.authorize_query(&web, CONFIDENTIAL_REDIRECT, "read", &challenge);
    let mut ua = UserAgent::new();
    let page = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    let page = ua.login(&server, &page, "alice", "not the password").await;
    assert!(page.is_login());
    let page = ua.login(&server, &page, "alice", PASSWORD).await;
    let page = ua.consent(&server, &page, "approve").await;
    let code = param(&page.location().unwrap(), "code").unwrap();
    let (verifier2, challenge2) = pkce();
    let query2 = server.authorize_query(&web, CONFIDENTIAL_REDIRECT, "read", &challenge2);
    let page = ua.get(&server.url(&format!("/authorize?{query2}"))).await;
    let code2 = param(&page.location().unwrap(), "code").unwrap();
    record("authorize");

    // token: code exchange, refresh, a replayed code (revokes its grant), client
    // credentials.
    let (_, refresh) = tokens(
        &server
            .exchange_code(&web, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await,
    );
    let (user_access, _) = tokens(&server.refresh_grant(&web, &refresh, None).await);
    let (user_access2, refresh2) = tokens(
        &server
            .exchange_code(&web, &code2, CONFIDENTIAL_REDIRECT, &verifier2)
            .await,
    );
    let replay = server
        .exchange_code(&web, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(replay.0, 400);
    let cc_access = server.cc_token(&cc, "read").await;
    record("token");

    // introspect: a user's token and a client's token.
    assert!(
        !server.is_active(&rs, &user_access).await,
        "its grant was revoked"
    );
    assert!(server.is_active(&rs, &user_access2).await);
    assert!(server.is_active(&rs, &cc_access).await);
    record("introspect");

    // authorizer: a user's access token on an HTTP API route.
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/authorizer/http-api-v2.json"
    );
    let event = std::fs::read_to_string(fixture)
        .unwrap()
        .replace("<access-token>", &user_access2);
    let event: serde_json::Value = serde_json::from_str(&event).unwrap();
    let routes = gatehouse_core::authorizer::routes::RouteScopes::parse("").unwrap();
    let answer = gatehouse_core::authorizer::handle(&server.app, &routes, &event)
        .await
        .unwrap();
    let answer = serde_json::to_value(answer).unwrap();
    assert_eq!(answer["policyDocument"]["Statement"][0]["Effect"], "Allow");
    record("authorizer");

    // revoke: a refresh token (its whole grant) and an access token.
    assert_eq!(server.revoke_as(&web, &refresh2).await.0, 200);
    assert_eq!(server.revoke_as(&cc, &cc_access).await.0, 200);
    record("revoke");

    // discovery: metadata and the JWKS.
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        let resp = http().get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    record("discovery");
    (seen, authorize_keys)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_function_is_granted_exactly_the_dynamodb_access_it_uses() {
    let t = template();
    let granted = granted(&t);
    let (seen, authorize_keys) = observed().await;
    assert_eq!(
        granted.keys().collect::<Vec<_>>(),
        seen.keys().collect::<Vec<_>>(),
        "every function is observed"
    );
    for (binary, used) in &seen {
        assert_eq!(
            &granted[binary], used,
            "the `{binary}` function's policy differs from what it uses"
        );
    }
    // The authorize function reaches one item of the keys table: the session key,
    // never a signing key; its policy says so with a leading-key condition.
    assert!(!authorize_keys.is_empty());
    assert!(
        authorize_keys
            .iter()
            .all(|a| a.kid.as_deref() == Some("session-key")),
        "{authorize_keys:?}"
    );
    let authorize = &functions(&t)["authorize"]["Properties"]["Policies"][0]["Statement"];
    let keys_statement = authorize
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| {
            matches!(&s["Resource"], Value::Tagged(_)) && referenced(&s["Resource"]) == "KeysTable"
        })
        .expect("a keys-table statement");
    assert_eq!(
        keys_statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"][0],
        "session-key"
    );
}

/// `sam local` applies an `--env-vars` file only to variables the template
/// declares: every one in `infra/sam-local/env.json` must be declared.
#[test]
fn the_sam_local_env_file_sets_only_declared_variables() {
    let t = template();
    let declared = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/sam-local/env.json");
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vars = env["Parameters"].as_object().expect("a Parameters object");
    assert!(vars.contains_key("GATEHOUSE_DYNAMODB_ENDPOINT"));
    for name in vars.keys() {
        assert!(
            declared.contains_key(name.as_str()),
            "{name} is not declared in template.yaml"
        );
    }
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
        assert_eq!(event["rawPath"], route, "{path:?}");
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
