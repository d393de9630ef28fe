//! Upgrades: a database file written by every earlier schema version opens in the current
//! binary and answers as it did.
//!
//! `tests/fixtures/schema/v<N>/` holds the file one build of each version left behind after
//! ingesting `tests/fixtures/schema/traces.json`, and what that build answered
//! (`scripts/make-schema-fixture.sh` makes them, from the matching commit of this repository).
//! The current binary opens a copy of each (migrating it) and must give, for every trace, every
//! field the old build gave with the same value — new fields may be added — except the few
//! answers whose meaning was deliberately changed since ([`CHANGED`]). The derived views an old
//! file never had (search, sessions, users, failed calls) must match what a fresh file holding
//! the same traces answers. A file of a newer version is refused, naming both versions.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/schema")
}

/// One deliberate change of an answer: files written before version `since` answer `field`
/// (at paths containing `within`) differently from a fresh file, and why.
struct Changed {
    within: &'static str,
    field: &'static str,
    since: i64,
    why: &'static str,
}

/// Answers whose meaning changed on purpose; each says why.
const CHANGED: &[Changed] = &[
    Changed {
        within: "(fresh vs migrated)",
        field: "provider",
        since: 9,
        why:
            "since schema 9's release ingest names a call's provider from its matched price entry \
              when the span names none; enrichment at ingest is not applied to stored spans",
    },
    Changed {
        within: "(fresh vs migrated)",
        field: "llmtrace.provider_from_price",
        since: 9,
        why: "the attribute that records the provider enrichment above",
    },
    Changed {
        within: "group_by=provider (fresh vs migrated)",
        field: "groups",
        since: 9,
        why: "the calls without a provider form their own group (the totals are compared instead)",
    },
];

fn changed(path: &str, field: &str, version: i64) -> Option<&'static Changed> {
    CHANGED
        .iter()
        .find(|c| c.field == field && version < c.since && path.contains(c.within))
}

/// Every difference between the old answer and the new one: a field the old one had that the
/// new one lacks or answers differently (numbers compared to a relative 1e-9).
fn differences(path: &str, old: &Value, new: &Value, version: i64, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, ov) in o {
                let p = format!("{path}.{k}");
                if let Some(c) = changed(&p, k, version) {
                    assert!(!c.why.is_empty());
                    continue;
                }
                match n.get(k) {
                    None => out.push(format!("{p}: missing (was {ov})")),
                    Some(nv) => differences(&p, ov, nv, version, out),
                }
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            if o.len() != n.len() {
                out.push(format!("{path}: {} items, was {}", n.len(), o.len()));
                return;
            }
            for (i, (ov, nv)) in o.iter().zip(n).enumerate() {
                differences(&format!("{path}[{i}]"), ov, nv, version, out);
            }
        }
        (Value::Number(o), Value::Number(n)) => {
            let (a, b) = (o.as_f64().unwrap(), n.as_f64().unwrap());
            if (a - b).abs() > 1e-9 * a.abs().max(b.abs()) {
                out.push(format!("{path}: {new}, was {old}"));
            }
        }
        _ => {
            if old != new {
                out.push(format!("{path}: {new}, was {old}"));
            }
        }
    }
}

/// The versions that have a fixture, ascending.
fn fixture_versions() -> Vec<i64> {
    let mut v: Vec<i64> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_prefix('v').and_then(|n| n.parse().ok())
        })
        .collect();
    v.sort();
    v
}

fn trace_ids() -> Vec<String> {
    let body: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("traces.json")).unwrap()).unwrap();
    let mut ids: Vec<String> = body["resourceSpans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["scopeSpans"].as_array().unwrap().iter())
        .flat_map(|s| s["spans"].as_array().unwrap().iter())
        .map(|s| s["traceId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The list answer keyed by trace id (its order may differ between builds).
fn by_trace_id(list: &Value) -> Value {
    Value::Object(
        list["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["trace_id"].as_str().unwrap().to_string(), t.clone()))
            .collect(),
    )
}

/// Derived views a file gains by migration: what they answer for the fixture's traces.
fn derived_views(server: &Server) -> Vec<(String, Value)> {
    [
        "/api/traces?q=Paris",
        "/api/traces?q=refunds",
        "/api/sessions",
        "/api/users",
        "/api/stats",
        "/api/stats?group_by=provider",
        "/api/stats?group_by=service",
    ]
    .iter()
    .map(|path| {
        let (status, body) = server.get_json(path);
        assert_eq!(status, 200, "{path}: {body}");
        (path.to_string(), body)
    })
    .collect()
}

fn post_payload(server: &Server) {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "content-type: application/json", "--data-binary"])
        .arg(format!("@{}", fixtures().join("traces.json").display()))
        .arg(format!("{}/v1/traces", server.http))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
}

#[test]
fn every_older_schema_version_opens_with_the_same_answers() {
    let current = llmtrace_store_sqlite::SCHEMA_VERSION as i64;
    let versions = fixture_versions();
    assert_eq!(
        versions,
        (1..=current).collect::<Vec<_>>(),
        "a fixture for every schema version up to {current}: before adding a migration, run \
         scripts/make-schema-fixture.sh {current}"
    );
    let ids = trace_ids();
    assert_eq!(ids.len(), 3);

    // What a fresh file holding the same traces answers.
    let dir = tempfile::tempdir().unwrap();
    let fresh = Server::start(&dir.path().join("fresh"));
    post_payload(&fresh);
    let fresh_views = derived_views(&fresh);
    let fresh_traces: Vec<Value> = ids
        .iter()
        .map(|id| fresh.get_json(&format!("/api/traces/{id}")).1)
        .collect();
    fresh.stop();

    let mut report = Vec::new();
    for version in versions {
        let fixture = fixtures().join(format!("v{version}"));
        let answers: Value =
            serde_json::from_slice(&std::fs::read(fixture.join("answers.json")).unwrap()).unwrap();
        assert_eq!(answers["version"], version);
        let data = dir.path().join(format!("v{version}"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::copy(fixture.join("llmtrace.db"), data.join("llmtrace.db")).unwrap();
        let server = Server::start(&data);

        let mut diffs = Vec::new();
        for (id, fresh_trace) in ids.iter().zip(&fresh_traces) {
            let (status, now) = server.get_json(&format!("/api/traces/{id}"));
            assert_eq!(status, 200, "v{version}: trace {id}: {now}");
            differences(
                &format!("v{version} trace {id}"),
                &answers["traces"][id.as_str()],
                &now,
                version,
                &mut diffs,
            );
            // Everything the current build answers for a fresh file, the migrated one answers
            // too (fields the old build could not know are filled by the migrations).
            differences(
                &format!("v{version} trace {id} (fresh vs migrated)"),
                fresh_trace,
                &now,
                version,
                &mut diffs,
            );
        }
        let (status, list) = server.get_json("/api/traces?limit=100");
        assert_eq!(status, 200);
        differences(
            &format!("v{version} list"),
            &by_trace_id(&answers["list"]),
            &by_trace_id(&list),
            version,
            &mut diffs,
        );
        for ((path, fresh_view), (_, now)) in fresh_views.iter().zip(derived_views(&server)) {
            differences(
                &format!("v{version} {path} (fresh vs migrated)"),
                fresh_view,
                &now,
                version,
                &mut diffs,
            );
        }
        // Calls, tokens, errors and cost over all providers are the same as a fresh file's,
        // however the calls are grouped.
        let (_, now) = server.get_json("/api/stats?group_by=provider");
        let fresh_providers = &fresh_views
            .iter()
            .find(|(path, _)| path.contains("group_by=provider"))
            .unwrap()
            .1;
        for field in [
            "calls",
            "errors",
            "input_tokens",
            "output_tokens",
            "cost_usd",
        ] {
            let total = |v: &Value| -> f64 {
                v["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| g[field].as_f64().unwrap())
                    .sum()
            };
            let (fresh_total, migrated_total) = (total(fresh_providers), total(&now));
            assert!(fresh_total > 0.0, "{field}");
            assert!(
                (fresh_total - migrated_total).abs() <= 1e-9 * fresh_total,
                "v{version} {field} over all providers: {migrated_total}, fresh {fresh_total}"
            );
        }
        server.stop();
        let file = rusqlite::Connection::open(data.join("llmtrace.db")).unwrap();
        let migrated: i64 = file
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            migrated, current,
            "v{version} migrated to the current version"
        );
        report.extend(diffs);
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn a_file_of_a_newer_version_is_refused_naming_both_versions() {
    let current = llmtrace_store_sqlite::SCHEMA_VERSION as i64;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("llmtrace.db");
    std::fs::copy(fixtures().join(format!("v{current}/llmtrace.db")), &db).unwrap();
    let file = rusqlite::Connection::open(&db).unwrap();
    file.pragma_update(None, "user_version", current + 1)
        .unwrap();
    drop(file);
    let out = Command::new(bin())
        .args(["serve", "--http-listen", "127.0.0.1:0", "--grpc-listen"])
        .args(["127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a newer file was opened: {stderr}");
    assert!(
        stderr.contains(&format!("schema version {}", current + 1))
            && stderr.contains(&format!("({current})")),
        "{stderr}"
    );
    // The refused file is left as it was.
    let file = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = file
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, current + 1);
}
