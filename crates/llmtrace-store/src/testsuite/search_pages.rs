//! Conformance case of full-text search over many traces: pages newest first, cursor after
//! cursor, are exactly the matching traces in order, for a word in every trace, in a few and in
//! one, with other filters and with ties of start time. It guards any store that stops looking
//! once its page is full (a bounded newest-first search): the answer must not change.

use super::{all_ids, llm, span, tid, write, T0};
use crate::{Store, TraceQuery};
use llmtrace_model::{Message, TraceId};

/// Traces written: more than a bounded search would examine before giving up on a rare word.
const TRACES: u64 = 1_300;

/// Every trace has `common`; every 97th `sparse` (and model `gpt-4o`, the others `gpt-4o-mini`);
/// only trace 3 `lonely`. Two traces share each start time (ties break by trace id).
pub async fn search_pages_newest_first_over_many_traces<S: Store>(s: &S) {
    let mut spans = Vec::new();
    for t in 1..=TRACES {
        let start = t / 2 * 1_000;
        let sparse = t % 97 == 0;
        let model = if sparse { "gpt-4o" } else { "gpt-4o-mini" };
        let mut call = llm(t, 2, Some(1), model, 10, 2, start, 5);
        let mut words = format!("common question number {t}");
        if sparse {
            words.push_str(" sparse");
        }
        if t == 3 {
            words.push_str(" lonely");
        }
        call.gen_ai.input_messages = vec![Message::text("user", &words)];
        spans.push(span(t, 1, None, "ask", start, 10));
        spans.push(call);
    }
    for chunk in spans.chunks(500) {
        write(s, chunk.to_vec()).await;
    }
    // Newest first: later start first, then the larger trace id.
    let expected = |keep: &dyn Fn(u64) -> bool| -> Vec<TraceId> {
        let mut ids: Vec<(u64, TraceId)> = (1..=TRACES)
            .filter(|t| keep(*t))
            .map(|t| (T0 + t / 2 * 1_000 * 1_000_000, tid(t)))
            .collect();
        ids.sort_by(|a, b| b.cmp(a));
        ids.into_iter().map(|(_, id)| id).collect()
    };
    let search = |text: &str, limit: usize, model: Option<&str>| TraceQuery {
        project: "default".into(),
        text: Some(text.into()),
        model: model.map(str::to_string),
        limit,
        ..Default::default()
    };
    assert_eq!(
        all_ids(s, search("common", 50, None)).await,
        expected(&|_| true),
        "a word in every trace"
    );
    assert_eq!(
        all_ids(s, search("sparse", 5, None)).await,
        expected(&|t| t % 97 == 0),
        "a word in every 97th trace"
    );
    assert_eq!(
        all_ids(s, search("sparse", 50, None)).await,
        expected(&|t| t % 97 == 0),
        "a page that the newest traces do not fill"
    );
    assert_eq!(
        all_ids(s, search("lonely", 50, None)).await,
        expected(&|t| t == 3),
        "a word in the oldest traces only"
    );
    assert_eq!(
        all_ids(s, search("common", 7, Some("gpt-4o"))).await,
        expected(&|t| t % 97 == 0),
        "with another filter"
    );
    assert!(all_ids(s, search("absent", 50, None)).await.is_empty());
    // One page of the common word: exactly the newest 50, with a cursor to the next.
    let page = s.list_traces(&search("comm", 50, None)).await.unwrap();
    assert_eq!(
        page.traces.iter().map(|t| t.trace_id).collect::<Vec<_>>(),
        expected(&|_| true)[..50].to_vec()
    );
    assert!(page.next_cursor.is_some());
}
