//! Score metrics: how many scores each project received by name and source, and the sum of their
//! numeric values, so a dashboard can chart an average over any window
//! (`delta(llmtrace_score_values[1h]) / increase(llmtrace_scores_total[1h])`). Each stored
//! delivery counts (a score sent again under the same id counts again).

use crate::exposition::{Encoder, Kind};
use crate::labels::LabelLimiter;
use crate::Scope;
use llmtrace_model::Score;
use std::collections::BTreeMap;

/// Received scores by (project, name, source): how many, and the sum of the numeric values.
pub(crate) struct ScoreCounters {
    by: BTreeMap<(String, String, String), (u64, f64)>,
    names: LabelLimiter,
    sources: LabelLimiter,
}

impl ScoreCounters {
    /// Empty counters keeping at most `max_label_values` names and sources.
    pub(crate) fn new(max_label_values: usize) -> Self {
        ScoreCounters {
            by: BTreeMap::new(),
            names: LabelLimiter::new(max_label_values),
            sources: LabelLimiter::new(max_label_values),
        }
    }

    /// Counts the scores of one durable commit.
    pub(crate) fn observe(&mut self, scores: &[Score]) {
        for s in scores {
            let key = (
                s.project.clone(),
                self.names.admit(Some(&s.name)),
                self.sources.admit(Some(&s.source)),
            );
            let entry = self.by.entry(key).or_insert((0, 0.0));
            entry.0 = entry.0.saturating_add(1);
            if let Some(v) = s.value.filter(|v| v.is_finite()) {
                entry.1 += v;
            }
        }
    }

    /// Renders the series `scope` shows.
    pub(crate) fn render(&self, e: &mut Encoder, scope: Scope<'_>) {
        e.family(
            "llmtrace_scores",
            Kind::Counter,
            "Scores received (evaluations, feedback, annotations), by name and source.",
            None,
        );
        for ((project, name, source), (n, _)) in self.shown(scope) {
            let labels = [
                ("project", project.as_str()),
                ("name", name.as_str()),
                ("source", source.as_str()),
            ];
            e.counter("llmtrace_scores", &labels, *n as f64);
        }
        e.family(
            "llmtrace_score_values",
            Kind::Gauge,
            "Sum of the numeric values of the scores received, by name and source (divide its change by that of llmtrace_scores_total for an average).",
            None,
        );
        for ((project, name, source), (_, sum)) in self.shown(scope) {
            let labels = [
                ("project", project.as_str()),
                ("name", name.as_str()),
                ("source", source.as_str()),
            ];
            e.gauge("llmtrace_score_values", &labels, *sum);
        }
    }

    fn shown<'a>(
        &'a self,
        scope: Scope<'a>,
    ) -> impl Iterator<Item = (&'a (String, String, String), &'a (u64, f64))> + 'a {
        self.by
            .iter()
            .filter(move |((project, _, _), _)| scope.shows(project))
    }
}
