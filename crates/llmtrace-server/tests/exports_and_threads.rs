//! The trace exports (`/api/traces/export`, `/api/traces/{id}?download=1`) and the session
//! page (`/sessions/{id}`) behind API keys: each key exports and reads its own project only,
//! no key gets 401 (the JSON answer on the API, the sign-in page on the UI), the other
//! project's session is not found.

mod common;

use common::*;
use llmtrace_server::ApiKey;

fn hex(trace: u8) -> String {
    format!("{trace:02x}").repeat(16)
}

/// The RAG trace in session `session`.
fn session_trace(trace: u8, session: &str) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
    let mut spans = rag_spans(trace);
    if let Some(root) = spans.first_mut() {
        root.attributes.push(kv("session.id", s(session)));
    }
    spans
}

async fn get(h: &Harness, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut r = reqwest::Client::new().get(h.url(path));
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    r.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_and_session_pages_are_scoped_to_the_key() {
    let h = Harness::start(Options {
        keys: vec![
            ApiKey::new("acme", "pk-acme", "sk-acme"),
            ApiKey::new("beta", "pk-beta", "sk-beta"),
        ],
        ..Default::default()
    })
    .await;
    assert_eq!(
        post_spans(&h, session_trace(0xa1, "s-acme"), Some("sk-acme")).await,
        200
    );
    assert_eq!(
        post_spans(&h, session_trace(0xb2, "s-beta"), Some("sk-beta")).await,
        200
    );

    for (key, own, other, session, other_session) in [
        ("sk-acme", 0xa1, 0xb2, "s-acme", "s-beta"),
        ("sk-beta", 0xb2, 0xa1, "s-beta", "s-acme"),
    ] {
        let r = get(&h, "/api/traces/export?format=csv", Some(key)).await;
        assert_eq!(r.status(), 200);
        let csv = r.text().await.unwrap();
        assert!(
            csv.contains(&hex(own)) && !csv.contains(&hex(other)),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 2, "{csv}");
        let r = get(&h, "/api/traces/export?format=json", Some(key)).await;
        let json: serde_json::Value = r.json().await.unwrap();
        assert_eq!(json.as_array().unwrap().len(), 1);
        assert_eq!(json[0]["trace_id"], hex(own));
        let r = get(
            &h,
            &format!("/api/traces/{}?download=1", hex(own)),
            Some(key),
        )
        .await;
        assert_eq!(r.status(), 200);
        let r = get(
            &h,
            &format!("/api/traces/{}?download=1", hex(other)),
            Some(key),
        )
        .await;
        assert_eq!(r.status(), 404);

        let r = get(&h, &format!("/sessions/{session}"), Some(key)).await;
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(
            page.contains(&hex(own)) && !page.contains(&hex(other)),
            "{page}"
        );
        let r = get(&h, &format!("/sessions/{other_session}"), Some(key)).await;
        assert_eq!(r.status(), 404);
    }

    // Without a key: the API's 401 answer, and the UI's sign-in page.
    for path in [
        "/api/traces/export?format=csv".to_string(),
        format!("/api/traces/{}?download=1", hex(0xa1)),
    ] {
        let r = get(&h, &path, None).await;
        assert_eq!(r.status(), 401, "{path}");
        assert!(r.headers().contains_key("www-authenticate"), "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    let r = get(&h, "/sessions/s-acme", None).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    assert!(r.text().await.unwrap().contains("Sign in"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_session_shows_its_latest_turns_and_says_how_many_are_left_out() {
    let h = Harness::start(Options::default()).await;
    // 205 one-span traces in one session, a second apart, each with its own question.
    let spans: Vec<_> = (0..205u32)
        .map(|n| {
            let mut trace_id = vec![0x5e; 12];
            trace_id.extend(n.to_be_bytes());
            let input = format!(r#"[{{"role":"user","content":"question {n}"}}]"#);
            let mut sp = span(
                0,
                1,
                None,
                "turn",
                u64::from(n) * 1000,
                10,
                vec![
                    kv("session.id", s("long")),
                    kv("gen_ai.operation.name", s("chat")),
                    kv("gen_ai.request.model", s("m")),
                    kv("gen_ai.input.messages", s(&input)),
                ],
            );
            sp.trace_id = trace_id;
            sp
        })
        .collect();
    assert_eq!(post_spans(&h, spans, None).await, 200);
    let r = get(&h, "/sessions/long", None).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert_eq!(page.matches(r#"<li class="turn""#).count(), 200);
    assert!(page.contains("5 earlier ones are not shown"), "{page}");
    assert!(page.contains(r#"href="/?session_id=long""#));
    // The latest 200 turns (5 to 204), oldest first, numbered as in the whole session.
    let first = page.find("question 5<").unwrap();
    let last = page.find("question 204<").unwrap();
    assert!(first < last);
    assert!(!page.contains("question 4<"));
    assert!(page.contains(r#"id="turn-6""#) && page.contains(r#"id="turn-205""#));
    assert!(!page.contains(r#"id="turn-5""#));
    h.stop().await;
}
