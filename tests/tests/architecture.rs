//! The layering of `gatehouse-core` (see ARCHITECTURE.md), read from its sources:
//! HTTP stays at the edge, and each layer imports only the layers below it.
//!
//! edge (`endpoints/`, `routes/`) → protocol (`grants/`, `tokens/`,
//! `federation/`) → `domain/` and `store/`.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every source file of the core crate: its path below `src/`, and its `use`
/// lines (what it imports; doc comments may mention anything).
fn core_sources() -> Vec<(String, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            let mut uses = Vec::new();
            let mut current: Option<String> = None;
            for line in text.lines() {
                let t = line.trim();
                if let Some(u) = current.as_mut() {
                    u.push_str(t);
                    if t.ends_with(';') {
                        uses.push(current.take().unwrap());
                    }
                } else if t.starts_with("use ") || t.starts_with("pub use ") {
                    if t.ends_with(';') {
                        uses.push(t.to_owned());
                    } else {
                        current = Some(t.to_owned());
                    }
                }
            }
            (rel, uses)
        })
        .collect()
}

fn layer(rel: &str) -> &str {
    rel.split(['/', '.']).next().unwrap()
}

#[test]
fn only_the_edge_imports_the_endpoints() {
    let mut offenders = Vec::new();
    for (rel, uses) in core_sources() {
        if matches!(layer(&rel), "endpoints" | "routes") {
            continue;
        }
        for u in uses.iter().filter(|u| u.contains("crate::endpoints")) {
            offenders.push(format!("{rel}: {u}"));
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

#[test]
fn the_endpoints_do_not_import_the_router() {
    let mut offenders = Vec::new();
    for (rel, uses) in core_sources() {
        if layer(&rel) == "endpoints" {
            for u in uses.iter().filter(|u| u.contains("crate::routes")) {
                offenders.push(format!("{rel}: {u}"));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

#[test]
fn the_protocol_domain_and_store_know_no_http_types() {
    let mut offenders = Vec::new();
    for (rel, uses) in core_sources() {
        if !matches!(
            layer(&rel),
            "grants" | "tokens" | "federation" | "domain" | "store"
        ) {
            continue;
        }
        for u in &uses {
            if [
                "lambda_http",
                "axum",
                "hyper",
                "crate::routes",
                "crate::endpoints",
            ]
            .iter()
            .any(|h| u.contains(h))
            {
                offenders.push(format!("{rel}: {u}"));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    // What each layer may not import.
    let forbidden: [(&str, &[&str]); 5] = [
        (
            "domain",
            &[
                "store",
                "tokens",
                "grants",
                "federation",
                "app",
                "authorizer",
            ],
        ),
        (
            "store",
            &["tokens", "grants", "federation", "app", "authorizer"],
        ),
        ("tokens", &["grants", "federation", "authorizer"]),
        ("grants", &["authorizer"]),
        ("federation", &["grants", "authorizer"]),
    ];
    let mut offenders = Vec::new();
    for (rel, uses) in core_sources() {
        let Some((_, banned)) = forbidden.iter().find(|(l, _)| *l == layer(&rel)) else {
            continue;
        };
        for u in &uses {
            for b in *banned {
                let module = format!("crate::{b}");
                let grouped = format!("crate::{{{b}");
                if u.contains(&format!("{module}::"))
                    || u.contains(&format!("{module};"))
                    || u.contains(&grouped)
                {
                    offenders.push(format!("{rel}: {u}"));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

#[test]
fn the_scan_sees_the_files_it_judges() {
    let files: Vec<String> = core_sources().into_iter().map(|(r, _)| r).collect();
    for expected in [
        "grants/refresh_token.rs",
        "tokens/active.rs",
        "federation/upstream_id_token.rs",
        "domain/grant.rs",
        "store/dynamo_grants.rs",
        "endpoints/token.rs",
        "routes/mod.rs",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} in {files:?}"
        );
    }
    // A `use` spread over lines is read whole.
    let (_, uses) = core_sources()
        .into_iter()
        .find(|(r, _)| r == "tokens/active.rs")
        .unwrap();
    assert!(
        uses.iter().any(|u| u.contains("TokenStateStore")),
        "{uses:?}"
    );
}
