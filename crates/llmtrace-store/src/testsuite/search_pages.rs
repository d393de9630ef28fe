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

/// Searches over `traces` one-call traces (pass enough to fill several of a store's search
/// chunks, e.g. 40,000 for SQLite's 16,384-row chunks) that do not arrive in start order:
/// trace `t` starts at `t` seconds; most are written oldest first, but every tenth arrives last,
/// newest first (old starts on the newest rows), and the newest trace arrives first of all (the
/// newest start on the oldest row). Every page, cursor after cursor, is exactly the matching
/// traces newest first, so a store that stops walking matches early must bound the starts of
/// the rows it did not read, not assume rows arrive in start order.
pub async fn search_pages_when_rows_arrive_out_of_start_order<S: Store>(s: &S, traces: u64) {
    let call = |t: u64| {
        let mut c = llm(t, 1, None, "gpt-4o", 10, 2, t * 1_000, 5);
        let mut words = String::from("common");
        if t.is_multiple_of(97) {
            words.push_str(" sparse");
        }
        if t.is_multiple_of(10) && t < traces / 2 {
            words.push_str(" straggler");
        }
        c.gen_ai.input_messages = vec![Message::text("user", &words)];
        c
    };
    let mut order: Vec<u64> = vec![traces];
    order.extend((1..traces).filter(|t| !t.is_multiple_of(10)));
    order.extend((1..traces).rev().filter(|t| t.is_multiple_of(10)));
    let mut spans: Vec<_> = order.into_iter().map(call).collect();
    // Four traces with `pair`: one new (`traces + 1`) and three tied at one old start, the one
    // with the greatest id (`traces + 4`) on the oldest row, the others on the newest rows, so a
    // page of two is full before the walk reaches it, the tie on its last place.
    let pair = |t: u64, start_ms: u64| {
        let mut c = llm(t, 1, None, "gpt-4o", 10, 2, start_ms, 5);
        c.gen_ai.input_messages = vec![Message::text("user", "pair")];
        c
    };
    spans.insert(0, pair(traces + 4, 500));
    spans.extend([
        pair(traces + 1, (traces + 10) * 1_000),
        pair(traces + 3, 500),
        pair(traces + 2, 500),
    ]);
    for chunk in spans.chunks(4_000) {
        write(s, chunk.to_vec()).await;
    }
    let expected = |keep: &dyn Fn(u64) -> bool| -> Vec<TraceId> {
        (1..=traces).rev().filter(|t| keep(*t)).map(tid).collect()
    };
    let search = |text: &str, limit: usize| TraceQuery {
        project: "default".into(),
        text: Some(text.into()),
        limit,
        ..Default::default()
    };
    let first = s.list_traces(&search("common", 25)).await.unwrap();
    assert_eq!(
        first.traces.iter().map(|t| t.trace_id).collect::<Vec<_>>(),
        expected(&|_| true)[..25].to_vec(),
        "the newest page of a word in every trace, its newest trace on the oldest row"
    );
    assert_eq!(
        all_ids(s, search("straggler", 100)).await,
        expected(&|t| t.is_multiple_of(10) && t < traces / 2),
        "traces that arrived last with old starts"
    );
    assert_eq!(
        all_ids(s, search("sparse", 30)).await,
        expected(&|t| t.is_multiple_of(97)),
        "a word in every 97th trace, pages across arrival order"
    );
    assert_eq!(
        all_ids(s, search("pair", 2)).await,
        [1, 4, 3, 2].map(|n| tid(traces + n)).to_vec(),
        "ties of start across the page's end, the greatest id on the oldest row"
    );
    let mut next = search("common", 25);
    next.cursor = first.next_cursor;
    let second = s.list_traces(&next).await.unwrap();
    assert_eq!(
        second.traces.iter().map(|t| t.trace_id).collect::<Vec<_>>(),
        expected(&|_| true)[25..50].to_vec(),
        "the page after it"
    );
}
