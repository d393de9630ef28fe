//! Trace list exports (`GET /api/traces/export`): the filtered traces walked page by page up to
//! a cap ([`Query::export_traces`]), and their CSV form ([`traces_csv`]).
//!
//! The CSV follows RFC 4180: comma separated, CRLF line ends, a field quoted (`"`, inner quotes
//! doubled) when it holds a comma, a quote, CR or LF. (The `csv` crate is not among the
//! workspace's dependencies; quoting is this small.) A text cell that a spreadsheet would read
//! as a formula (starting with `=`, `+`, `-`, `@`, tab or CR: "CSV injection") gets a leading
//! apostrophe, which spreadsheets show as text; numbers are written by us and never guarded.

use crate::{Query, QueryError, TraceListParams, TraceSummaryView};
use llmtrace_store::MAX_PAGE_SIZE;

/// Most traces one export holds.
pub const MAX_EXPORT_TRACES: usize = 10_000;

/// The CSV columns, in order.
pub const TRACE_CSV_COLUMNS: [&str; 17] = [
    "trace_id",
    "start_time",
    "end_time",
    "name",
    "service",
    "duration_ms",
    "spans",
    "llm_calls",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cost_usd",
    "unpriced_calls",
    "errors",
    "failed_calls",
    "user_id",
    "session_id",
];

/// The traces of an export and where the walk stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceExport {
    /// The traces, in the list's order.
    pub traces: Vec<TraceSummaryView>,
    /// The cursor of the traces left out when the cap was reached (`None`: all are there).
    pub next_cursor: Option<String>,
}

/// A text cell: guarded against formulas, then quoted when needed.
pub fn csv_text(v: &str) -> String {
    let guarded = match v.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{v}"),
        _ => v.to_string(),
    };
    csv_field(&guarded)
}

/// A field quoted when it holds a comma, a quote, CR or LF (RFC 4180).
pub fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// A number as the API writes it (the shortest decimal that reads back as the same value), in
/// plain notation; empty when unknown.
fn number(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| x.to_string())
        .unwrap_or_default()
}

/// One trace as a CSV record (without the line end).
pub fn trace_csv_row(t: &TraceSummaryView) -> String {
    let cells = [
        csv_text(&t.trace_id),
        csv_text(&t.start_time),
        csv_text(&t.end_time),
        csv_text(&t.root_name),
        csv_text(&t.service),
        number(Some(t.duration_ms)),
        t.span_count.to_string(),
        t.llm_call_count.to_string(),
        t.input_tokens.to_string(),
        t.output_tokens.to_string(),
        t.cache_read_tokens.to_string(),
        number(t.cost_usd),
        t.unpriced_span_count.to_string(),
        t.error_count.to_string(),
        t.failed_call_count.to_string(),
        csv_text(t.user_id.as_deref().unwrap_or("")),
        csv_text(t.session_id.as_deref().unwrap_or("")),
    ];
    cells.join(",")
}

/// The traces as a CSV document: the header ([`TRACE_CSV_COLUMNS`]), then one record each.
pub fn traces_csv(traces: &[TraceSummaryView]) -> String {
    let mut out = TRACE_CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for t in traces {
        out.push_str(&trace_csv_row(t));
        out.push_str("\r\n");
    }
    out
}

impl Query {
    /// The traces `params` select, page after page from `params.cursor`, up to `max` (at most
    /// [`MAX_EXPORT_TRACES`]); `params.limit` is ignored (pages are as large as allowed).
    pub async fn export_traces(
        &self,
        project: &str,
        params: &TraceListParams,
        max: usize,
    ) -> Result<TraceExport, QueryError> {
        let max = max.clamp(1, MAX_EXPORT_TRACES);
        let mut p = params.clone();
        let mut traces: Vec<TraceSummaryView> = Vec::new();
        loop {
            p.limit = Some(MAX_PAGE_SIZE.min(max.saturating_sub(traces.len())));
            let page = self.list_traces(project, &p).await?;
            let empty = page.traces.is_empty();
            traces.extend(page.traces);
            match page.next_cursor {
                // A cursor after an empty page would not move: the walk ends.
                Some(_) if empty => {
                    return Ok(TraceExport {
                        traces,
                        next_cursor: None,
                    })
                }
                Some(c) if traces.len() >= max => {
                    return Ok(TraceExport {
                        traces,
                        next_cursor: Some(c),
                    })
                }
                Some(c) => p.cursor = Some(c),
                None => {
                    return Ok(TraceExport {
                        traces,
                        next_cursor: None,
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(name: &str, cost: Option<f64>, user: Option<&str>) -> TraceSummaryView {
        serde_json::from_value(serde_json::json!({
            "trace_id": "0af7651916cd43dd8448eb211c80319c", "root_name": name, "has_root": true,
            "service": "svc", "start_time": "2026-01-01T00:00:00.000000000Z",
            "end_time": "2026-01-01T00:00:01.500000000Z", "duration_ms": 1500.25,
            "span_count": 3, "llm_call_count": 2, "input_tokens": 160, "output_tokens": 45,
            "cache_read_tokens": 7, "cache_write_tokens": 0, "reasoning_tokens": 0,
            "error_count": 1, "failed_call_count": 1, "cost_usd": cost,
            "cost_source": null, "unpriced_span_count": 1, "user_id": user,
            "session_id": "s,1"
        }))
        .unwrap()
    }

    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("日本語 عربي"), "日本語 عربي");
    }

    #[test]
    fn formulas_are_turned_into_text() {
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_text("+1"), "'+1");
        assert_eq!(csv_text("-2+3"), "'-2+3");
        assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_text("\tx"), "'\tx");
        assert_eq!(csv_text("a=b"), "a=b");
        assert_eq!(csv_text(""), "");
    }

    #[test]
    fn a_document_has_the_header_and_one_record_per_trace() {
        let doc = traces_csv(&[
            trace(
                "chat, with comma",
                Some(0.000123),
                Some("=cmd|' /C calc'!A0"),
            ),
            trace("unknown cost", None, None),
        ]);
        let lines: Vec<&str> = doc.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "{doc:?}");
        assert_eq!(lines[0], TRACE_CSV_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "0af7651916cd43dd8448eb211c80319c,2026-01-01T00:00:00.000000000Z,\
             2026-01-01T00:00:01.500000000Z,\"chat, with comma\",svc,1500.25,3,2,160,45,7,\
             0.000123,1,1,1,'=cmd|' /C calc'!A0,\"s,1\""
        );
        assert!(lines[2].contains(",unknown cost,") && lines[2].contains(",7,,1,1,1,,"));
        assert_eq!(lines[3], "");
        // Tiny costs stay in plain notation and read back as the API's number.
        assert_eq!(number(Some(1e-12)), "0.000000000001");
        assert_eq!(number(Some(1e-12)).parse::<f64>().unwrap(), 1e-12);
        assert_eq!(number(None), "");
        assert_eq!(number(Some(f64::NAN)), "");
    }
}
