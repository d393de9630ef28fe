//! Two projects and an admin key over every route: each project key sees its own traces and
//! nothing of the other's, on the API, the UI pages and the Langfuse routes; the node-wide
//! routes need the admin key; the admin key acts on the project it names; no key gets 401
//! everywhere but the health probes.

mod common;

use common::*;
use llmtrace_server::ApiKey;

const ACME_TRACE: u8 = 0xa1;
const BETA_TRACE: u8 = 0xb2;

fn hex(trace: u8) -> String {
    format!("{trace:02x}").repeat(16)
}

/// A GET with `key` as Bearer (and `project` as the admin's project header); (status, body).
async fn get(h: &Harness, path: &str, key: Option<&str>, project: Option<&str>) -> (u16, String) {
    let mut r = reqwest::Client::new().get(h.url(path));
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    if let Some(p) = project {
        r = r.header(llmtrace_server::PROJECT_HEADER, p);
    }
    let resp = r.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The data routes, each showing a project's own data.
fn data_routes() -> Vec<String> {
    vec![
        "/api/traces".into(),
        format!("/api/traces/{}", hex(ACME_TRACE)),
        "/api/stats".into(),
        "/api/stats?group_by=service".into(),
        "/api/sessions".into(),
        "/api/users".into(),
        "/api/prices/unpriced".into(),
        "/api/public/projects".into(),
        "/".into(),
        format!("/traces/{}", hex(ACME_TRACE)),
        "/dashboard".into(),
        "/sessions".into(),
        "/users".into(),
        "/models".into(),
    ]
}

const NODE_WIDE: &[&str] = &["/api/ingest", "/api/alerts", "/health"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_scopes_to_the_key_and_node_wide_routes_need_the_admin_key() {
    let h = Harness::start(Options {
        keys: vec![
            ApiKey::new("acme", "pk-acme", "sk-acme"),
            ApiKey::new("beta", "pk-beta", "sk-beta"),
        ],
        admin_key: Some("sk-admin"),
        ..Default::default()
    })
    .await;
    // Each project sends one trace; services named after the project.
    for (key, trace, service) in [
        ("sk-acme", ACME_TRACE, "acme-svc"),
        ("sk-beta", BETA_TRACE, "beta-svc"),
    ] {
        let mut req = request(rag_spans(trace));
        req.resource_spans[0].resource = Some(opentelemetry_proto::tonic::resource::v1::Resource {
            attributes: vec![kv("service.name", s(service))],
            ..Default::default()
        });
        let r = reqwest::Client::new()
            .post(h.url("/v1/traces"))
            .bearer_auth(key)
            .header("content-type", "application/x-protobuf")
            .body(prost::Message::encode_to_vec(&req))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    // Each project key: every data route answers, and never shows the other project.
    for (key, own, other, other_svc) in [
        ("sk-acme", ACME_TRACE, BETA_TRACE, "beta-svc"),
        ("sk-beta", BETA_TRACE, ACME_TRACE, "acme-svc"),
    ] {
        for route in data_routes() {
            let route = route.replace(&hex(ACME_TRACE), &hex(own));
            let (code, body) = get(&h, &route, Some(key), None).await;
            assert_eq!(code, 200, "{key} {route}: {body}");
            assert!(
                !body.contains(&hex(other)) && !body.contains(other_svc),
                "{key} {route} shows the other project: {body}"
            );
        }
        // The other project's trace is not found, on the API and the UI.
        for route in [
            format!("/api/traces/{}", hex(other)),
            format!("/traces/{}", hex(other)),
        ] {
            let (code, _) = get(&h, &route, Some(key), None).await;
            assert_eq!(code, 404, "{key} {route}");
        }
        // Node-wide routes need the admin key.
        for route in NODE_WIDE {
            let (code, body) = get(&h, route, Some(key), None).await;
            assert_eq!(code, 403, "{key} {route}: {body}");
        }
    }
    // /metrics: a project key sees its own project's series only, nothing node-wide; the admin
    // key sees every project and the node.
    for (key, own, other) in [("sk-acme", "acme", "beta"), ("sk-beta", "beta", "acme")] {
        let (code, text) = get(&h, "/metrics", Some(key), None).await;
        assert_eq!(code, 200, "{text}");
        assert!(
            text.contains(&format!("llm_calls_total{{project=\"{own}\"")),
            "{key}: no own series in\n{text}"
        );
        assert!(
            !text.contains(&format!("project=\"{other}\"")),
            "{key} sees {other}"
        );
        assert!(
            !text.contains("llmtrace_queue_items"),
            "{key} sees the node"
        );
    }
    let (code, text) = get(&h, "/metrics", Some("sk-admin"), None).await;
    assert_eq!(code, 200);
    assert!(
        text.contains("project=\"acme\"")
            && text.contains("project=\"beta\"")
            && text.contains("llmtrace_queue_items"),
        "{text}"
    );

    // The Langfuse project route names the key's project only.
    let (_, body) = get(&h, "/api/public/projects", Some("sk-acme"), None).await;
    assert!(body.contains("acme") && !body.contains("beta"), "{body}");

    // The admin key: node-wide routes open; data of the project it names.
    for route in NODE_WIDE {
        let (code, body) = get(&h, route, Some("sk-admin"), None).await;
        // This harness runs no alert evaluator: past the gate, /api/alerts says so.
        let expected = if *route == "/api/alerts" { 404 } else { 200 };
        assert_eq!(code, expected, "admin {route}: {body}");
    }
    let (code, body) = get(&h, "/api/traces", Some("sk-admin"), Some("beta")).await;
    assert_eq!(code, 200);
    assert!(
        body.contains(&hex(BETA_TRACE)) && !body.contains(&hex(ACME_TRACE)),
        "{body}"
    );
    let (code, body) = get(&h, "/api/traces", Some("sk-admin"), None).await;
    assert_eq!(code, 400, "admin without a project: {body}");
    assert!(body.contains("X-Llmtrace-Project"), "{body}");

    // No key (or a wrong one): 401 everywhere but the health probes.
    for route in data_routes()
        .iter()
        .map(String::as_str)
        .chain(NODE_WIDE.iter().copied())
    {
        for key in [None, Some("sk-wrong")] {
            let (code, _) = get(&h, route, key, None).await;
            assert_eq!(code, 401, "{key:?} {route}");
        }
    }
    for route in ["/healthz", "/api/public/health"] {
        let (code, _) = get(&h, route, None, None).await;
        assert_eq!(code, 200, "{route}");
    }

    // gRPC: an unknown key is refused before the message is decoded; the admin key writes to
    // the project it names.
    let mut client = opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::connect(
        format!("http://{}", h.grpc),
    )
    .await
    .unwrap();
    let mut req = tonic::Request::new(request(rag_spans(0xc3)));
    req.metadata_mut()
        .insert("authorization", "Bearer sk-wrong".parse().unwrap());
    let err = client.export(req).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let mut req = tonic::Request::new(request(rag_spans(0xc3)));
    req.metadata_mut()
        .insert("authorization", "Bearer sk-admin".parse().unwrap());
    req.metadata_mut()
        .insert(llmtrace_server::PROJECT_HEADER, "beta".parse().unwrap());
    client.export(req).await.unwrap();
    let (code, _) = get(
        &h,
        &format!("/api/traces/{}", hex(0xc3)),
        Some("sk-beta"),
        None,
    )
    .await;
    assert_eq!(code, 200, "the admin's export landed in beta");
    let (code, _) = get(
        &h,
        &format!("/api/traces/{}", hex(0xc3)),
        Some("sk-acme"),
        None,
    )
    .await;
    assert_eq!(code, 404);
    h.stop().await;
}
