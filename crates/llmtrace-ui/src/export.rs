//! The trace list's download links: the traces the page's filters select, as CSV or JSON, from
//! `GET /api/traces/export`. The links carry the API parameters the page's own query used
//! ([`TracesForm::to_params`]), with the range preset as the server resolved it for this page
//! ([`TracesForm::resolved_since`]), so a download lists the same traces as the page.

use crate::annotate::query_string;
use crate::traces::TracesForm;
use llmtrace_query::{TraceListParams, MAX_EXPORT_TRACES};
use maud::{html, Markup};

/// The export API's parameters for the list's query `p` (page size and position left out: an
/// export walks every page).
fn export_pairs(p: &TraceListParams) -> Vec<(String, String)> {
    let fields = [
        ("q", &p.q),
        ("service", &p.service),
        ("model", &p.model),
        ("provider", &p.provider),
        ("status", &p.status),
        ("user_id", &p.user_id),
        ("session_id", &p.session_id),
        ("since", &p.since),
        ("until", &p.until),
        ("min_cost", &p.min_cost),
        ("sort", &p.sort),
        ("without_score", &p.without_score),
    ];
    let mut pairs: Vec<(String, String)> = fields
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect();
    if let Some(ms) = p.min_duration_ms {
        pairs.push(("min_duration_ms".into(), ms.to_string()));
    }
    pairs.extend(p.scores.iter().cloned());
    pairs
}

/// The export URL of `form` in `format` (`csv` or `json`), `queue` being the annotation
/// queue's score name on `/queue`; `None` when the filters do not make a query.
pub(crate) fn export_href(form: &TracesForm, queue: Option<&str>, format: &str) -> Option<String> {
    let mut p = form.to_params(form.resolved_since.clone()).ok()?;
    if queue.is_none() {
        // The trace list (not the queue) ignores `score`, as its handler does.
        p.without_score = None;
    }
    let mut pairs = vec![("format".to_string(), format.to_string())];
    pairs.extend(export_pairs(&p));
    Some(format!("/api/traces/export?{}", query_string(&pairs)))
}

/// "Download CSV" and "Download JSON" links for the traces the page's filters select.
pub(crate) fn export_links(form: &TracesForm, queue: Option<&str>) -> Markup {
    let (Some(csv), Some(json)) = (
        export_href(form, queue, "csv"),
        export_href(form, queue, "json"),
    ) else {
        return html! {};
    };
    let title = format!(
        "Every trace these filters select, not only this page (at most {})",
        crate::format::count(u64::try_from(MAX_EXPORT_TRACES).unwrap_or(u64::MAX))
    );
    html! {
        p.export #export-links {
            a #export-csv href=(csv) title=(title) { "Download CSV" }
            " · "
            a #export-json href=(json) title=(title) { "Download JSON" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_the_queried_filters_and_the_resolved_range() {
        let form = TracesForm {
            model: Some("gpt-4o".into()),
            range: Some("1h".into()),
            min_duration_ms: Some("1500".into()),
            sort: Some("cost".into()),
            cursor: Some("page2".into()),
            score: Some("quality".into()),
            resolved_since: Some("2026-01-01T00:00:00.000000000Z".into()),
            ..Default::default()
        }
        .with_score_filters("score.quality=good&score.any=*");
        assert_eq!(
            export_href(&form, None, "csv").unwrap(),
            "/api/traces/export?format=csv&model=gpt-4o&since=2026-01-01T00%3A00%3A00.000000000Z\
             &sort=cost&min_duration_ms=1500&score.quality=good&score.any="
        );
        // On the queue, the queue's score name selects traces without it.
        assert!(export_href(&form, Some("quality"), "json")
            .unwrap()
            .contains("&without_score=quality"));
        // A custom start wins over the preset, as on the page.
        let custom = TracesForm {
            since: Some("2025-12-31T00:00:00Z".into()),
            ..form.clone()
        };
        assert!(export_href(&custom, None, "csv")
            .unwrap()
            .contains("since=2025-12-31T00%3A00%3A00Z"));
        let html = export_links(&form, None).into_string();
        assert!(html.contains(r#"id="export-csv""#) && html.contains(r#"id="export-json""#));
        assert!(html.contains("format=json&amp;model=gpt-4o"));
        // Filters the page cannot query give no links.
        let bad = TracesForm {
            min_duration_ms: Some("fast".into()),
            ..Default::default()
        };
        assert!(export_links(&bad, None).into_string().is_empty());
    }
}
