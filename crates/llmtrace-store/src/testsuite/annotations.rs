//! Conformance cases of [`crate::AnnotationStore`]: score aggregates, lookups and deletion,
//! the annotation-queue filter, score configs and datasets, each per project.

use super::{rag_trace, sid, span, tid, write, T0};
use crate::{
    Dataset, DatasetItem, GroupBy, ScoreConfig, ScoreFilter, StatsQuery, Store, TraceQuery,
    WriteBatch,
};
use llmtrace_model::Score;
use serde_json::json;

const MIN: u64 = 60_000_000_000;

/// A score of the default project on trace `trace` (on span `span` when given).
fn score(id: &str, trace: u64, span: Option<u64>, name: &str, value: Option<f64>) -> Score {
    Score {
        project: "default".into(),
        id: id.into(),
        trace_id: tid(trace).to_hex(),
        observation_id: span.map(|s| sid(s).to_hex()),
        name: name.into(),
        value,
        data_type: "NUMERIC".into(),
        source: "API".into(),
        timestamp_unix_nano: T0,
        ..Default::default()
    }
}

fn labelled(mut s: Score, label: &str) -> Score {
    s.string_value = Some(label.into());
    s.data_type = "CATEGORICAL".into();
    s
}

async fn put_scores<S: Store>(s: &S, scores: Vec<Score>) {
    s.write(std::sync::Arc::new(WriteBatch {
        scores,
        ..Default::default()
    }))
    .await
    .expect("write scores");
}

fn stats(group_by: GroupBy) -> StatsQuery {
    StatsQuery {
        project: "default".into(),
        group_by,
        ..Default::default()
    }
}

/// Score aggregates group by the scored span's dimension (the root span's for a trace score),
/// count labels, average values, bucket by score time, filter, follow replacements and
/// deletions, and never mix projects.
pub async fn score_aggregates_follow_scores<S: Store>(s: &S) {
    write(s, rag_trace(200)).await;
    let mut other = rag_trace(201);
    for sp in &mut other {
        sp.service = "api".into();
        if sp.gen_ai.request_model.is_some() {
            sp.gen_ai.request_model = Some("gpt-4o".into());
            sp.gen_ai.response_model = Some("gpt-4o".into());
            sp.gen_ai.provider = Some("openai".into());
        }
    }
    write(s, other).await;
    let mut late = score("c", 201, Some(3), "quality", Some(0.2));
    late.timestamp_unix_nano = T0 + 10 * MIN;
    let mut foreign = score("a", 200, Some(3), "quality", Some(100.0));
    foreign.project = "team-b".into();
    put_scores(
        s,
        vec![
            score("a", 200, Some(3), "quality", Some(1.0)),
            score("b", 200, Some(3), "quality", Some(0.5)),
            late,
            labelled(score("d", 200, None, "tone", None), "polite"),
            labelled(score("e", 201, None, "tone", None), "rude"),
            labelled(score("f", 201, None, "tone", None), "polite"),
            foreign,
        ],
    )
    .await;
    // Replaced: counts with its new value only.
    put_scores(s, vec![score("b", 200, Some(3), "quality", Some(0.0))]).await;

    let by_model = s.score_stats(&stats(GroupBy::Model)).await.unwrap();
    let got: Vec<(Option<&str>, &str, u64, Option<f64>)> = by_model
        .iter()
        .map(|g| (g.key.as_deref(), g.name.as_str(), g.count, g.average()))
        .collect();
    assert_eq!(
        got,
        vec![
            (None, "tone", 3, None),
            (Some("claude-sonnet-4-6"), "quality", 2, Some(0.5)),
            (Some("gpt-4o"), "quality", 1, Some(0.2)),
        ],
        "{by_model:?}"
    );
    let by_service = s.score_stats(&stats(GroupBy::Service)).await.unwrap();
    type LabelCounts = Vec<(String, u64)>;
    let tone: Vec<(Option<&str>, LabelCounts)> = by_service
        .iter()
        .filter(|g| g.name == "tone")
        .map(|g| (g.key.as_deref(), g.labels.clone()))
        .collect();
    assert_eq!(
        tone,
        vec![
            (Some("api"), vec![("polite".into(), 1), ("rude".into(), 1)]),
            (Some("svc"), vec![("polite".into(), 1)]),
        ]
    );
    let quality_min_max: Vec<(Option<f64>, Option<f64>)> = by_service
        .iter()
        .filter(|g| g.name == "quality")
        .map(|g| (g.min, g.max))
        .collect();
    assert_eq!(
        quality_min_max,
        vec![(Some(0.2), Some(0.2)), (Some(0.0), Some(1.0))]
    );

    // Buckets and a time range by score time; a model filter.
    let mut q = stats(GroupBy::Model);
    q.since_unix_nano = Some(T0);
    q.until_unix_nano = Some(T0 + 60 * MIN);
    q.bucket_nanos = Some(5 * MIN);
    q.model = Some("gpt-4o".into());
    let b = s.score_stats(&q).await.unwrap();
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0].bucket_start_unix_nano, Some(T0 + 10 * MIN));
    q.until_unix_nano = Some(T0 + 10 * MIN);
    assert!(s.score_stats(&q).await.unwrap().is_empty());

    // Names, lookups by trace, deletion.
    let names = s.score_names("default").await.unwrap();
    let n: Vec<(&str, u64, bool, Vec<String>)> = names
        .iter()
        .map(|n| (n.name.as_str(), n.count, n.numeric, n.labels.clone()))
        .collect();
    assert_eq!(
        n,
        vec![
            ("quality", 3, true, vec![]),
            ("tone", 3, false, vec!["polite".into(), "rude".into()]),
        ]
    );
    let of = s.scores_of_traces("default", &[tid(201)]).await.unwrap();
    let mut ids: Vec<&str> = of.iter().map(|x| x.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec!["c", "e", "f"]);
    assert!(s.delete_score("default", "a").await.unwrap());
    assert!(!s.delete_score("default", "a").await.unwrap());
    assert!(!s.delete_score("default", "nope").await.unwrap());
    let d = s.get_trace("default", tid(200)).await.unwrap().unwrap();
    let mut ids: Vec<&str> = d.scores.iter().map(|x| x.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec!["b", "d"]);
    let by_model = s.score_stats(&stats(GroupBy::Model)).await.unwrap();
    let claude = by_model
        .iter()
        .find(|g| g.key.as_deref() == Some("claude-sonnet-4-6"))
        .unwrap();
    assert_eq!((claude.count, claude.average()), (1, Some(0.0)));
    // The other project kept its own score.
    let mut theirs = stats(GroupBy::Model);
    theirs.project = "team-b".into();
    let t = s.score_stats(&theirs).await.unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].count, t[0].average()), (1, Some(100.0)));
    assert_eq!(
        s.get_trace("team-b", tid(200))
            .await
            .unwrap()
            .map(|d| d.scores.len()),
        None,
        "team-b has the score but not the trace"
    );
    // A deleted score no longer matches a filter.
    let mut fq = TraceQuery {
        project: "default".into(),
        limit: 10,
        ..Default::default()
    };
    fq.scores = vec![ScoreFilter {
        name: "quality".into(),
        min: Some(0.9),
        ..Default::default()
    }];
    assert!(s.list_traces(&fq).await.unwrap().traces.is_empty());
}

/// The annotation queue: traces without a score of a name (on the trace or any span), with
/// the other filters, in the project.
pub async fn trace_list_without_score<S: Store>(s: &S) {
    for t in 210..214 {
        write(s, rag_trace(t)).await;
    }
    let mut b = span(214, 1, None, "other", 0, 10);
    b.project = "team-b".into();
    write(s, vec![b]).await;
    put_scores(
        s,
        vec![
            score("x", 210, None, "reviewed", Some(1.0)),
            score("y", 211, Some(3), "reviewed", Some(0.0)),
            score("z", 212, None, "other", Some(1.0)),
        ],
    )
    .await;
    let q = |project: &str| TraceQuery {
        project: project.into(),
        limit: 10,
        without_score: Some("reviewed".into()),
        ..Default::default()
    };
    let ids: Vec<_> = s
        .list_traces(&q("default"))
        .await
        .unwrap()
        .traces
        .iter()
        .map(|t| t.trace_id)
        .collect();
    assert_eq!(ids, vec![tid(213), tid(212)]);
    assert_eq!(s.list_traces(&q("team-b")).await.unwrap().traces.len(), 1);
    assert!(s.delete_score("default", "x").await.unwrap());
    assert_eq!(s.list_traces(&q("default")).await.unwrap().traces.len(), 3);
}

/// Score configs and datasets: stored, replaced by key (creation time kept), listed in order,
/// deleted, per project; items only go into an existing dataset.
pub async fn configs_and_datasets_round_trip<S: Store>(s: &S) {
    let config = |project: &str, name: &str, max: f64| ScoreConfig {
        project: project.into(),
        name: name.into(),
        data_type: "NUMERIC".into(),
        min: Some(0.0),
        max: Some(max),
        ..Default::default()
    };
    s.put_score_config(&config("default", "quality", 5.0))
        .await
        .unwrap();
    s.put_score_config(&config("default", "accuracy", 1.0))
        .await
        .unwrap();
    s.put_score_config(&config("default", "quality", 10.0))
        .await
        .unwrap();
    s.put_score_config(&config("team-b", "quality", 3.0))
        .await
        .unwrap();
    let got = s.score_configs("default").await.unwrap();
    let names: Vec<(&str, Option<f64>)> = got.iter().map(|c| (c.name.as_str(), c.max)).collect();
    assert_eq!(
        names,
        vec![("accuracy", Some(1.0)), ("quality", Some(10.0))]
    );
    assert!(s.delete_score_config("default", "accuracy").await.unwrap());
    assert!(!s.delete_score_config("default", "accuracy").await.unwrap());
    assert_eq!(s.score_configs("default").await.unwrap().len(), 1);
    assert_eq!(s.score_configs("team-b").await.unwrap()[0].max, Some(3.0));

    let item = |id: &str, expected: &str| DatasetItem {
        project: "default".into(),
        dataset: "golden".into(),
        id: id.into(),
        input: json!([{"role": "user", "content": "capital of France?"}]),
        output: Some(json!("Paris.")),
        expected_output: Some(json!(expected)),
        source_trace_id: Some(tid(1).to_hex()),
        source_span_id: Some(sid(3).to_hex()),
        created_unix_nano: T0 + id.len() as u64,
        ..Default::default()
    };
    assert!(!s.put_dataset_item(&item("i1", "Paris")).await.unwrap());
    assert_eq!(s.dataset_items("default", "golden").await.unwrap(), None);
    let set = |desc: &str, at: u64| Dataset {
        project: "default".into(),
        name: "golden".into(),
        description: Some(desc.into()),
        created_unix_nano: at,
        item_count: 0,
    };
    s.put_dataset(&set("first", T0)).await.unwrap();
    assert!(s.put_dataset_item(&item("i1", "Paris")).await.unwrap());
    assert!(s.put_dataset_item(&item("item-2", "Lyon")).await.unwrap());
    let mut edited = item("i1", "Paris, France");
    edited.created_unix_nano = T0 + 99;
    assert!(s.put_dataset_item(&edited).await.unwrap());
    s.put_dataset(&set("second", T0 + 5)).await.unwrap();
    let sets = s.datasets("default").await.unwrap();
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].description.as_deref(), Some("second"));
    assert_eq!(sets[0].created_unix_nano, T0, "creation time kept");
    assert_eq!(sets[0].item_count, 2);
    let items = s.dataset_items("default", "golden").await.unwrap().unwrap();
    let got: Vec<(&str, Option<serde_json::Value>, u64)> = items
        .iter()
        .map(|i| {
            (
                i.id.as_str(),
                i.expected_output.clone(),
                i.created_unix_nano,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("i1", Some(json!("Paris, France")), T0 + 2),
            ("item-2", Some(json!("Lyon")), T0 + 6),
        ]
    );
    assert_eq!(items[0].input, item("i1", "").input);
    assert!(s
        .delete_dataset_item("default", "golden", "i1")
        .await
        .unwrap());
    assert!(!s
        .delete_dataset_item("default", "golden", "i1")
        .await
        .unwrap());
    assert_eq!(s.datasets("default").await.unwrap()[0].item_count, 1);
    assert!(s.datasets("team-b").await.unwrap().is_empty());
    assert_eq!(s.dataset_items("team-b", "golden").await.unwrap(), None);
}

/// An evaluation sent without its span but with the provider response id is attached to the
/// call span carrying that response: stored before, or in the same batch; one whose response
/// is unknown is kept unattached.
pub async fn scores_attach_by_response_id<S: Store>(s: &S) {
    let mut first = rag_trace(220);
    first[2].gen_ai.response_id = Some("resp-220".into());
    write(s, first).await;
    let by_response = |id: &str, response: &str| Score {
        trace_id: String::new(),
        response_id: Some(response.into()),
        ..score(id, 0, None, "relevance", Some(0.5))
    };
    put_scores(s, vec![by_response("r1", "resp-220")]).await;
    let mut second = rag_trace(221);
    second[2].gen_ai.response_id = Some("resp-221".into());
    s.write(std::sync::Arc::new(WriteBatch {
        spans: second,
        scores: vec![
            by_response("r2", "resp-221"),
            by_response("r3", "resp-none"),
        ],
        ..Default::default()
    }))
    .await
    .unwrap();
    for (trace, id) in [(220, "r1"), (221, "r2")] {
        let d = s.get_trace("default", tid(trace)).await.unwrap().unwrap();
        let got: Vec<(&str, Option<&str>)> = d
            .scores
            .iter()
            .map(|x| (x.id.as_str(), x.observation_id.as_deref()))
            .collect();
        let span = sid(3).to_hex();
        assert_eq!(got, vec![(id, Some(span.as_str()))], "trace {trace}");
    }
    let names = s.score_names("default").await.unwrap();
    assert_eq!(names[0].count, 3, "the unattached score is kept: {names:?}");
}
