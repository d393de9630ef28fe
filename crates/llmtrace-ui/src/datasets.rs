//! The datasets pages: `/datasets` (each dataset with its item count, and a form creating
//! one) and `/datasets/{name}` (its items: input, output, the expected output editable in place,
//! the trace it came from; a link downloading the JSONL export of the API).

use crate::format;
use crate::layout::{self, Nav};
use crate::traces::url_encode;
use llmtrace_query::{DatasetItemView, DatasetItemsView, DatasetListView};
use maud::{html, Markup};

/// A JSON value as text: a string as is; chat messages (`[{role, content}]` with text
/// content) one per line as `role: content`; anything else as indented JSON.
pub(crate) fn json_text(v: &serde_json::Value) -> String {
    if let Some(s) = v.as_str() {
        return s.to_string();
    }
    if let Some(items) = v.as_array() {
        let lines: Option<Vec<String>> = items
            .iter()
            .map(|m| {
                let role = m.get("role")?.as_str()?;
                let content = m.get("content")?.as_str()?;
                Some(format!("{role}: {content}"))
            })
            .collect();
        if let Some(lines) = lines.filter(|l| !l.is_empty()) {
            return lines.join("\n");
        }
    }
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The `/datasets` page.
pub fn datasets_page(list: Result<&DatasetListView, &str>) -> String {
    let body = html! {
        h1 { "Datasets" }
        p.dim { "Examples taken from traces (a span's or a trace's input and output, with the output expected): add them from a trace page (press d), or with " code { "POST /api/datasets/{name}/items" } "." }
        @match list {
            Err(m) => { p.error role="alert" { (m) } }
            Ok(list) if list.datasets.is_empty() => {
                section.empty { h2 { "No datasets yet" } p { "Create one below, or add a span to a new dataset from its trace page." } }
            }
            Ok(list) => {
                table.traces #datasets {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Description" } th scope="col" { "Items" } th scope="col" { "Created (UTC)" } th scope="col" { "Export" } } }
                    tbody { @for d in &list.datasets {
                        tr {
                            td.name { a href={ "/datasets/" (url_encode(&d.name)) } dir="auto" { (d.name) } }
                            td.name dir="auto" { (d.description.as_deref().unwrap_or("")) }
                            td.num { (format::count(d.item_count)) }
                            td { (format::time(&d.created_at)) }
                            td { a href={ "/api/datasets/" (url_encode(&d.name)) "/items?format=jsonl" } download { "JSONL" } }
                        }
                    } }
                }
            }
        }
        form.filters #new-dataset aria-label="New dataset" {
            label { span { "Name" } input type="text" name="name" required autocomplete="off" dir="auto"; }
            label.search { span { "Description" } input type="text" name="description" autocomplete="off" dir="auto"; }
            div.actions { button type="submit" { "Create dataset" } }
            p.status role="status" {}
        }
    };
    layout::page("Datasets", Nav::Datasets, body)
}

fn item_row(dataset: &str, i: &DatasetItemView) -> Markup {
    let expected = i
        .expected_output
        .as_ref()
        .map(json_text)
        .unwrap_or_default();
    let body = serde_json::json!({
        "id": i.id, "input": i.input, "output": i.output, "metadata": i.metadata,
        "trace_id": i.source_trace_id, "span_id": i.source_span_id,
    });
    html! {
        tr.item data-id=(i.id) data-item=(body.to_string()) data-dataset=(dataset) {
            td.name { pre.io dir="auto" { (json_text(&i.input)) } }
            td.name { @if let Some(o) = &i.output { pre.io dir="auto" { (json_text(o)) } } }
            td.name {
                textarea.expected name="expected_output" rows="3" dir="auto" aria-label="Expected output" { (expected) }
                div.actions {
                    button.item-save type="button" { "Save" }
                    button.item-delete.link type="button" { "Delete" }
                    span.status role="status" {}
                }
            }
            td {
                @if let Some(t) = &i.source_trace_id {
                    a href={ "/traces/" (t) @if let Some(s) = &i.source_span_id { "?span=" (s) } } { "trace" @if i.source_span_id.is_some() { " / span" } }
                }
                br; span.dim { (format::time(&i.created_at)) }
            }
        }
    }
}

/// The `/datasets/{name}` page.
pub fn dataset_page(name: &str, items: Result<&DatasetItemsView, &str>) -> String {
    let jsonl = format!("/api/datasets/{}/items?format=jsonl", url_encode(name));
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/datasets" { "Datasets" } " / " span dir="auto" { (name) } }
        h1 dir="auto" { (name) }
        p { a #download-jsonl href=(jsonl) download { "Download JSONL" } span.dim { " (one item a line: input, output, expected_output, metadata, the source trace and span)" } }
        @match items {
            Err(m) => { p.error role="alert" { (m) } }
            Ok(v) if v.items.is_empty() => {
                section.empty { h2 { "No items yet" } p { "Open a trace, select a span and press d to add it here." } }
            }
            Ok(v) => {
                table.traces #items {
                    thead { tr { th scope="col" { "Input" } th scope="col" { "Output" } th scope="col" { "Expected output" } th scope="col" { "Source" } } }
                    tbody { @for i in &v.items { (item_row(name, i)) } }
                }
            }
        }
    };
    layout::page(name, Nav::Datasets, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_as_text() {
        assert_eq!(json_text(&json!("hi")), "hi");
        assert_eq!(
            json_text(
                &json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "2+2?"}])
            ),
            "system: be brief\nuser: 2+2?"
        );
        assert_eq!(json_text(&json!({"a": 1})), "{\n  \"a\": 1\n}");
        assert_eq!(json_text(&json!([])), "[]");
    }

    #[test]
    fn items_are_escaped_and_link_the_export() {
        let items = DatasetItemsView {
            dataset: "d/<x>".into(),
            items: vec![DatasetItemView {
                id: "i1".into(),
                input: json!("<script>in</script>"),
                output: Some(json!("out")),
                expected_output: Some(json!("</textarea><b>")),
                metadata: None,
                source_trace_id: Some("ab".repeat(16)),
                source_span_id: None,
                created_at: "2026-01-01T00:00:00Z".into(),
            }],
        };
        let html = dataset_page("d/<x>", Ok(&items));
        assert!(!html.contains("<script>in") && !html.contains("</textarea><b>"));
        assert!(html.contains("/api/datasets/d%2F%3Cx%3E/items?format=jsonl"));
        assert!(html.contains(&format!("/traces/{}", "ab".repeat(16))));
    }
}
