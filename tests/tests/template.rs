//! `template.yaml` and the local server agree: every route API Gateway is given is
//! served by `gatehouse serve`, and every path the server routes is in the template.

use gatehouse_core::routes::ROUTES;
use std::collections::BTreeSet;

fn template() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml")
}

/// `(method, path)` of every `RouteKey:` line.
fn template_routes() -> Vec<(String, String)> {
    template()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("RouteKey:"))
        .map(|r| {
            let mut parts = r.split_whitespace();
            (
                parts.next().unwrap().to_owned(),
                parts.next().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_template_route_is_served_locally_and_every_local_path_is_routed() {
    let in_template: BTreeSet<String> = template_routes().into_iter().map(|(_, p)| p).collect();
    let served: BTreeSet<String> = ROUTES.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(in_template, served);
}

#[test]
fn form_endpoints_take_any_method_so_the_handler_answers_405_itself() {
    for (method, path) in template_routes() {
        if ["/token", "/introspect", "/revoke"].contains(&path.as_str()) {
            assert_eq!(method, "ANY", "{path}");
        }
    }
}

#[test]
fn no_policy_grants_wildcard_actions_or_crud_policies() {
    let t = template();
    assert!(!t.contains("dynamodb:*"));
    assert!(!t.contains("DynamoDBCrudPolicy"));
    for line in t.lines().map(str::trim) {
        if let Some(action) = line.strip_prefix("- dynamodb:") {
            assert!(
                [
                    "GetItem",
                    "BatchGetItem",
                    "PutItem",
                    "UpdateItem",
                    "DeleteItem",
                    "ConditionCheckItem",
                    "Query",
                    "Scan"
                ]
                .contains(&action),
                "unexpected action {action}"
            );
        }
    }
}

#[test]
fn every_table_has_point_in_time_recovery_and_is_retained() {
    let t = template();
    let tables = t.matches("Type: AWS::DynamoDB::Table").count();
    assert_eq!(tables, 6);
    assert_eq!(
        t.matches("PointInTimeRecoveryEnabled: true").count(),
        tables
    );
    assert_eq!(t.matches("SSEEnabled: true").count(), tables);
    assert!(t.matches("DeletionPolicy: Retain").count() >= tables);
    assert_eq!(
        t.matches("AttributeName: ttl").count(),
        3,
        "tokens, keys and login attempts expire by TTL"
    );
}

#[test]
fn every_table_the_functions_read_is_passed_to_them() {
    let t = template();
    for var in [
        "GATEHOUSE_CLIENTS_TABLE: !Ref ClientsTable",
        "GATEHOUSE_TOKENS_TABLE: !Ref TokensTable",
        "GATEHOUSE_KEYS_TABLE: !Ref KeysTable",
        "GATEHOUSE_USERS_TABLE: !Ref UsersTable",
        "GATEHOUSE_CONSENTS_TABLE: !Ref ConsentsTable",
        "GATEHOUSE_LOGIN_ATTEMPTS_TABLE: !Ref LoginAttemptsTable",
    ] {
        assert!(t.contains(var), "{var}");
    }
}

#[test]
fn the_authorize_function_reaches_only_the_session_key_in_the_keys_table() {
    let t = template();
    let start = t.find("  AuthorizeFunction:").unwrap();
    let end = t[start..].find("  AuthorizeLogGroup:").unwrap() + start;
    let policy = &t[start..end];
    assert!(
        !policy.contains("dynamodb:Scan"),
        "no Scan of the signing keys"
    );
    assert!(policy.contains("dynamodb:LeadingKeys"));
    assert!(policy.contains("- session-key"));
}
