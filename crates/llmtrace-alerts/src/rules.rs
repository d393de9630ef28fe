//! Prometheus rule file and promtool tests generated from [`crate::AlertConfig`].
//!
//! [`rule_file`] renders one rule group, `llmtrace`, evaluated every `eval_interval_seconds`:
//!
//! - recording rules for dashboards, per model, over the configured window `<w>`:
//!   `llm:call_seconds:p99_<w>`, `llm:error_ratio:rate<w>`, `llm:tokens_per_call:rate<w>`,
//!   `llm:cache_hit_ratio:rate<w>` and `llm:cost_usd_per_hour:rate<w>`;
//! - the alerts [`ALERT_NAMES`], per model (`LLMTraceBudgetExceeded`: per project, and only when
//!   a per-trace budget is configured), each with a `severity` label and the annotations
//!   `summary`, `description` and `runbook_url` (`<runbook_url>#<alertname lowercased>`; left
//!   out when the base URL is empty).
//!
//! The alerts use the raw expressions, not the recording rules, so they do not depend on the
//! order of evaluation inside the group. Only the metrics llmtrace exposes on `/metrics` are
//! used (`llm_call_seconds`, `llm_calls_total`, `llm_errors_total`, `llm_tokens_total`,
//! `llm_cost_usd_total`, `llmtrace_trace_budget_exceeded_total`).
//!
//! [`rule_tests`] renders a promtool unit-test file for the same configuration: per alert, a
//! model that breaches the threshold (exact labels and annotations expected), models that do not,
//! and, with a `for`, a check that the alert is still pending one evaluation before it fires.
//! The input series are derived from the thresholds and the window, `for` and evaluation
//! interval, so the tests stay right for any configuration.
//!
//! Both files are hand-formatted YAML: every string is double-quoted with JSON-style escapes and
//! every expression is a literal block scalar.

use crate::AlertConfig;
use std::fmt::Write as _;

/// Name of the rule group.
pub const GROUP_NAME: &str = "llmtrace";

/// Every alert [`rule_file`] can emit; `LLMTraceBudgetExceeded` only when a per-trace budget is
/// configured.
pub const ALERT_NAMES: [&str; 6] = [
    "LLMHighP99Latency",
    "LLMHighErrorRate",
    "LLMTokensPerCallHigh",
    "LLMCacheHitRatioLow",
    "LLMCostBurnRateHigh",
    "LLMTraceBudgetExceeded",
];

/// Upper bounds of the finite `llm_call_seconds` buckets llmtrace exposes (then `+Inf`).
const CALL_SECONDS_BUCKETS: [f64; 13] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];

/// Shortest lookback of the "this model uses the prompt cache" condition of
/// `LLMCacheHitRatioLow` (one day; the window when that is longer).
const CACHE_SEEN_LOOKBACK_SECONDS: u64 = 86_400;

/// A Prometheus duration for whole seconds, in the largest unit that divides it exactly:
/// 300 → `5m`, 90 → `90s`, 3600 → `1h`, 86400 → `1d`, 0 → `0s`.
pub fn prom_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// [`prom_duration`] for milliseconds (`500ms` when not whole seconds).
fn prom_duration_ms(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        prom_duration(ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The alerts, in rule-file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alert {
    Latency,
    Errors,
    Tokens,
    Cache,
    Cost,
    Budget,
}

impl Alert {
    const ALL: [Alert; 6] = [
        Alert::Latency,
        Alert::Errors,
        Alert::Tokens,
        Alert::Cache,
        Alert::Cost,
        Alert::Budget,
    ];

    fn name(self) -> &'static str {
        match self {
            Alert::Latency => ALERT_NAMES[0],
            Alert::Errors => ALERT_NAMES[1],
            Alert::Tokens => ALERT_NAMES[2],
            Alert::Cache => ALERT_NAMES[3],
            Alert::Cost => ALERT_NAMES[4],
            Alert::Budget => ALERT_NAMES[5],
        }
    }

    /// Same severities as the built-in evaluator.
    fn severity(self) -> &'static str {
        match self {
            Alert::Errors | Alert::Budget => "critical",
            Alert::Latency | Alert::Cost => "warning",
            Alert::Tokens | Alert::Cache => "info",
        }
    }

    /// The label the alert is per.
    fn subject_label(self) -> &'static str {
        match self {
            Alert::Budget => "project",
            _ => "model",
        }
    }

    /// Go template rendering `$value` in the description.
    fn value_template(self) -> &'static str {
        match self {
            Alert::Latency => "{{ $value | humanizeDuration }}",
            Alert::Errors | Alert::Cache => "{{ $value | humanizePercentage }}",
            Alert::Tokens => "{{ $value | humanize }}",
            Alert::Cost => "{{ printf \"%.4g\" $value }}",
            Alert::Budget => "{{ $value }}",
        }
    }

    /// What [`Alert::value_template`] renders for `v` (Prometheus' template functions).
    fn render_value(self, v: f64) -> String {
        match self {
            Alert::Latency => humanize_duration(v),
            Alert::Errors | Alert::Cache => format!("{}%", go_g(v * 100.0, 4)),
            Alert::Tokens => humanize(v),
            Alert::Cost => go_g(v, 4),
            Alert::Budget => go_g(v, 6),
        }
    }
}

/// Everything the rule file and the tests derive from the configuration.
struct Spec<'a> {
    c: &'a AlertConfig,
    /// Rendered window, e.g. `5m`.
    w: String,
    /// Lookback of the "uses the prompt cache" condition, e.g. `1d`.
    cache_lookback: String,
}

impl<'a> Spec<'a> {
    fn new(c: &'a AlertConfig) -> Self {
        let window = c.window_seconds.max(1);
        Spec {
            c,
            w: prom_duration(window),
            cache_lookback: prom_duration(window.max(CACHE_SEEN_LOOKBACK_SECONDS)),
        }
    }

    fn budgets_enabled(&self) -> bool {
        self.c.trace_max_tokens.is_some() || self.c.trace_max_cost_usd.is_some()
    }

    fn alerts(&self) -> impl Iterator<Item = Alert> + '_ {
        Alert::ALL
            .into_iter()
            .filter(|a| *a != Alert::Budget || self.budgets_enabled())
    }

    fn p99(&self) -> String {
        format!(
            "histogram_quantile(0.99, sum by (project, model, le) (rate(llm_call_seconds_bucket[{}])))",
            self.w
        )
    }

    fn per_model_rate(&self, selector: &str) -> String {
        format!("sum by (project, model) (rate({selector}[{}]))", self.w)
    }

    fn calls(&self) -> String {
        self.per_model_rate("llm_calls_total")
    }

    fn input_tokens(&self) -> String {
        self.per_model_rate("llm_tokens_total{type=\"input\"}")
    }

    fn error_ratio(&self) -> String {
        format!(
            "{}\n  / {}",
            self.per_model_rate("llm_errors_total"),
            self.calls()
        )
    }

    fn tokens_per_call(&self) -> String {
        format!(
            "{}\n  / {}",
            self.per_model_rate("llm_tokens_total{type=~\"input|output\"}"),
            self.calls()
        )
    }

    /// Cache-read / input tokens. A model whose cache-read series has no samples in the window
    /// (e.g. llmtrace restarted and exposes a token type only once it is counted) reads as 0,
    /// not as no value.
    fn cache_hit_ratio(&self) -> String {
        let input = self.input_tokens();
        format!(
            "(\n  {}\n    or 0 * {input}\n)\n  / {input}",
            self.per_model_rate("llm_tokens_total{type=\"cache_read\"}")
        )
    }

    fn cost_per_hour(&self) -> String {
        format!("{} * 3600", self.per_model_rate("llm_cost_usd_total"))
    }

    /// Recording rules: (name, expression).
    fn recording_rules(&self) -> Vec<(String, String)> {
        let w = &self.w;
        vec![
            (format!("llm:call_seconds:p99_{w}"), self.p99()),
            (format!("llm:error_ratio:rate{w}"), self.error_ratio()),
            (
                format!("llm:tokens_per_call:rate{w}"),
                self.tokens_per_call(),
            ),
            (
                format!("llm:cache_hit_ratio:rate{w}"),
                self.cache_hit_ratio(),
            ),
            (
                format!("llm:cost_usd_per_hour:rate{w}"),
                self.cost_per_hour(),
            ),
        ]
    }

    fn alert_expr(&self, a: Alert) -> String {
        let c = self.c;
        match a {
            Alert::Latency => format!(
                "{}\n  > {}",
                self.p99(),
                promql_number(c.p99_latency_seconds)
            ),
            Alert::Errors => format!(
                "{}\n  > {}",
                self.error_ratio(),
                promql_number(c.error_rate)
            ),
            Alert::Tokens => format!(
                "{}\n  > {}",
                self.tokens_per_call(),
                promql_number(c.tokens_per_call)
            ),
            // A model "uses the prompt cache" when any of its cache_read counters was above 0
            // at some scrape within the lookback (a day, or the window when longer). That is
            // `max_over_time` of the counter rather than `increase`, which needs two samples and
            // misses the first cache reads after a restart or of a new series. So a model
            // whose caching breaks entirely (cache reads drop to 0) keeps alerting for up to a
            // day, while a model that never reads from the cache (no cache_read series, or one
            // that stays 0) never alerts. "Had traffic in the window" is input tokens rate > 0
            // (without it the ratio is 0/0 anyway, but say so explicitly).
            Alert::Cache => format!(
                "{}\n  < {}\nand on (project, model)\n  {} > 0\nand on (project, model)\n  \
                 sum by (project, model) (max_over_time(llm_tokens_total{{type=\"cache_read\"}}[{}])) > 0",
                self.cache_hit_ratio(),
                promql_number(c.cache_hit_ratio_min),
                self.input_tokens(),
                self.cache_lookback
            ),
            Alert::Cost => format!(
                "{}\n  > {}",
                self.cost_per_hour(),
                promql_number(c.cost_usd_per_hour)
            ),
            Alert::Budget => format!(
                "sum by (project) (increase(llmtrace_trace_budget_exceeded_total[{}])) > 0",
                self.w
            ),
        }
    }

    fn has_for(&self, a: Alert) -> bool {
        a != Alert::Budget && self.c.for_seconds > 0
    }

    /// `summary` and `description` with `subject` (the model or project) and `value` (the
    /// alert's value, rendered) substituted: the templates for the rule file, the expected
    /// texts for the tests.
    fn texts(&self, a: Alert, subject: &str, value: &str) -> (String, String) {
        let c = self.c;
        let w = &self.w;
        match a {
            Alert::Latency => (
                format!("High p99 latency on model {subject}"),
                format!(
                    "p99 call duration of {subject} is {value} over the last {w}, above {}s.",
                    num(c.p99_latency_seconds)
                ),
            ),
            Alert::Errors => (
                format!("High error rate on model {subject}"),
                format!(
                    "{value} of the calls to {subject} failed over the last {w}, above {}%.",
                    num(c.error_rate * 100.0)
                ),
            ),
            Alert::Tokens => (
                format!("High tokens per call on model {subject}"),
                format!(
                    "Calls to {subject} used {value} tokens (input + output) per call over the \
                     last {w}, above {}.",
                    num(c.tokens_per_call)
                ),
            ),
            Alert::Cache => (
                format!("Low prompt-cache hit ratio on model {subject}"),
                format!(
                    "Cache reads are {value} of the input tokens of {subject} over the last {w}, \
                     below {}%, although {subject} read from the prompt cache within the last {}.",
                    num(c.cache_hit_ratio_min * 100.0),
                    self.cache_lookback
                ),
            ),
            Alert::Cost => (
                format!("High cost burn rate on model {subject}"),
                format!(
                    "{subject} is spending {value} USD/hour over the last {w}, above {} USD/hour.",
                    num(c.cost_usd_per_hour)
                ),
            ),
            Alert::Budget => {
                let mut budgets = Vec::new();
                if let Some(t) = c.trace_max_tokens {
                    budgets.push(format!("{t} tokens"));
                }
                if let Some(usd) = c.trace_max_cost_usd {
                    budgets.push(format!("{} USD", num(usd)));
                }
                (
                    format!("Traces of project {subject} exceeded their budget"),
                    format!(
                        "At least one trace of project {subject} went over the per-trace budget \
                         ({}) within the last {w}.",
                        budgets.join(" or ")
                    ),
                )
            }
        }
    }

    fn runbook(&self, a: Alert) -> Option<String> {
        (!self.c.runbook_url.is_empty())
            .then(|| format!("{}#{}", self.c.runbook_url, a.name().to_lowercase()))
    }

    /// The annotations, in file order, for `subject` and `value` (see [`Spec::texts`]).
    fn annotations(&self, a: Alert, subject: &str, value: &str) -> Vec<(&'static str, String)> {
        let (summary, description) = self.texts(a, subject, value);
        let mut out = vec![("summary", summary), ("description", description)];
        if let Some(url) = self.runbook(a) {
            out.push(("runbook_url", url));
        }
        out
    }
}

/// The Prometheus rule file (YAML) for `config`: one group `llmtrace` with the recording rules
/// and the alerts (see the module documentation).
pub fn rule_file(config: &AlertConfig) -> String {
    let s = Spec::new(config);
    let c = config;
    let mut out = String::new();
    out.push_str(
        "# Prometheus rules for the LLM metrics of llmtrace; generated by llmtrace from\n",
    );
    out.push_str("# its alert thresholds (edit the thresholds, not this file).\n");
    let _ = writeln!(
        out,
        "# window {}, for {}, p99 > {}s, error rate > {}, tokens per call > {}, \
         cache hit ratio < {}, cost > {} USD/h",
        s.w,
        prom_duration(c.for_seconds),
        num(c.p99_latency_seconds),
        num(c.error_rate),
        num(c.tokens_per_call),
        num(c.cache_hit_ratio_min),
        num(c.cost_usd_per_hour)
    );
    out.push_str("groups:\n");
    let _ = writeln!(out, "  - name: {}", quote(GROUP_NAME));
    let _ = writeln!(
        out,
        "    interval: {}",
        prom_duration(c.eval_interval_seconds.max(1))
    );
    out.push_str("    rules:\n");
    out.push_str("      # Recording rules, per model, for dashboards.\n");
    for (name, expr) in s.recording_rules() {
        let _ = writeln!(out, "      - record: {}", quote(&name));
        write_expr(&mut out, &expr);
    }
    for a in s.alerts() {
        out.push('\n');
        match a {
            Alert::Cache => {
                let _ = writeln!(
                    out,
                    "      # Only for models that use the prompt cache at all: a cache_read counter \
                     of the\n      # model was above 0 at some scrape within the last {} \
                     (max_over_time, which,\n      # unlike increase, also sees the first cache \
                     reads of a new series), and only with\n      # input tokens in the window.",
                    s.cache_lookback
                );
            }
            Alert::Budget => {
                out.push_str(
                    "      # Per project; no `for`: each budget breach is worth a notification.\n",
                );
            }
            _ => {}
        }
        let _ = writeln!(out, "      - alert: {}", a.name());
        write_expr(&mut out, &s.alert_expr(a));
        if s.has_for(a) {
            let _ = writeln!(out, "        for: {}", prom_duration(c.for_seconds));
        }
        out.push_str("        labels:\n");
        let _ = writeln!(out, "          severity: {}", quote(a.severity()));
        out.push_str("        annotations:\n");
        let subject = format!("{{{{ $labels.{} }}}}", a.subject_label());
        for (k, v) in s.annotations(a, &subject, a.value_template()) {
            let _ = writeln!(out, "          {k}: {}", quote(&v));
        }
    }
    out
}

fn write_expr(out: &mut String, expr: &str) {
    out.push_str("        expr: |-\n");
    for line in expr.lines() {
        let _ = writeln!(out, "          {line}");
    }
}

// ---------------------------------------------------------------------------------------------
// promtool unit tests
// ---------------------------------------------------------------------------------------------

/// A positive number with at most two significant digits, `m · 10^e`, so that counter
/// increments are exact and the rendered `$value` is the same in Go and here.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Nice {
    m: u64,
    e: i32,
}

impl Nice {
    fn value(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(f64::NAN)
    }

    /// (numerator, denominator) increments with `numerator / denominator == value`, both whole.
    fn fraction(self) -> (f64, f64) {
        let num = format!("{}e{}", self.m, self.e.max(0))
            .parse()
            .unwrap_or(f64::NAN);
        let den = format!("1e{}", (-self.e).max(0))
            .parse()
            .unwrap_or(f64::NAN);
        (num, den)
    }

    /// The smallest two-digit number ≥ `x` (`x` > 0, finite).
    fn ceil(x: f64) -> Nice {
        Nice::round(x, true)
    }

    /// The largest two-digit number ≤ `x` (`x` > 0, finite).
    fn floor(x: f64) -> Nice {
        Nice::round(x, false)
    }

    fn round(x: f64, up: bool) -> Nice {
        let f = if up { f64::ceil } else { f64::floor };
        let mut e = x.log10().floor() as i32 - 1;
        let mut m = f(x / 10f64.powi(e));
        // Correct for log10/powi rounding so that 10 <= m < 100 (100 only from ceil).
        if m < 10.0 {
            e -= 1;
            m = f(x / 10f64.powi(e));
        } else if m > 100.0 {
            e += 1;
            m = f(x / 10f64.powi(e));
        }
        let mut n = Nice { m: m as u64, e };
        // Guard against the division's rounding: ceil must be >= x, floor <= x.
        if up && n.value() < x {
            n.m += 1;
        } else if !up && n.value() > x && n.m > 1 {
            n.m -= 1;
        }
        n
    }

    /// A value clearly above `x` (about 2x; 0.5 when `x` <= 0); when `x` < `cap`, at most `cap`.
    fn above(x: f64, cap: Option<f64>) -> Option<Nice> {
        if !x.is_finite() {
            return None;
        }
        if x <= 0.0 {
            return Some(Nice { m: 5, e: -1 });
        }
        let n = Nice::ceil(2.0 * x);
        match cap {
            Some(cap) if x < cap && n.value() > cap => Some(Nice::ceil(cap)),
            _ => Some(n),
        }
    }

    /// `self`, or 1.1 times it when it is a power of 1000: `humanize` switches prefixes there
    /// (1 → `1`, but 0.99999… → `1000m`), so float noise would change the rendered text.
    fn off_prefix_boundary(self) -> Nice {
        let power = match self.m {
            10 => self.e + 1,
            100 => self.e + 2,
            _ => return self,
        };
        if power.rem_euclid(3) == 0 {
            Nice {
                m: 11,
                e: power - 1,
            }
        } else {
            self
        }
    }

    /// A value clearly below `x` (about x / 2), positive; `None` when `x` <= 0.
    fn below(x: f64) -> Option<Nice> {
        (x.is_finite() && x > 0.0).then(|| Nice::floor(x / 2.0))
    }
}

/// Times of a test group, milliseconds from the start of the test.
struct Timing {
    /// Input series interval: divides the evaluation interval and the window, at most half the
    /// window, so every rate has at least two samples and no extrapolation.
    step: u64,
    eval: u64,
    window: u64,
    /// Last evaluation at which an alert true since the first evaluation is still pending.
    pending: Option<u64>,
    /// First evaluation at which it fires.
    fire: u64,
    /// Where firing alerts and recorded values are checked: firing, and a full window in.
    check: u64,
}

impl Timing {
    fn new(c: &AlertConfig) -> Self {
        let eval = c.eval_interval_seconds.max(1) * 1000;
        let window = c.window_seconds.max(1) * 1000;
        let mut step = gcd(eval, window);
        if step * 2 > window {
            step = window / 2;
        }
        // The conditions hold from the first evaluation with two samples: `eval`.
        let holds = (c.for_seconds * 1000).div_ceil(eval);
        let fire = eval + holds * eval;
        let pending = (holds > 0).then(|| fire - eval);
        let check = fire.max(window.div_ceil(eval) * eval);
        Timing {
            step,
            eval,
            window,
            pending,
            fire,
            check,
        }
    }

    /// Samples `0..=end` plus a margin.
    fn steps_to(&self, end: u64) -> u64 {
        end / self.step + 2
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Firing alerts expected at a check: (model or project, `$value`).
type Firing = Vec<(String, f64)>;

/// One `tests:` entry.
struct TestGroup {
    name: String,
    series: Vec<(String, String)>,
    /// (eval time ms, alert, firing alerts as (subject, value)).
    alert_checks: Vec<(u64, Alert, Firing)>,
    /// (eval time ms, expression, expected model label values, each with value 1).
    expr_checks: Vec<(u64, String, Vec<String>)>,
}

impl TestGroup {
    fn new(name: &str) -> Self {
        TestGroup {
            name: name.to_string(),
            series: Vec::new(),
            alert_checks: Vec::new(),
            expr_checks: Vec::new(),
        }
    }

    /// A counter from 0 that grows by `inc` per step.
    fn counter(&mut self, t: &Timing, series: String, inc: f64) {
        let n = t.steps_to(t.check.max(t.fire));
        self.series
            .push((series, format!("0+{}x{n}", fmt_f64(inc))));
    }

    /// Alert checks for a threshold alert whose `firing` subjects breach from the first
    /// evaluation on: pending one evaluation before it fires (with a `for`), firing at the
    /// first evaluation it can when the values are `steady` from the start (ratios; not the
    /// cost rate, which ramps up over the first window), and firing at the check time.
    fn threshold_checks(&mut self, t: &Timing, a: Alert, firing: Firing, steady: bool) {
        if !firing.is_empty() {
            if let Some(p) = t.pending {
                self.alert_checks.push((p, a, Vec::new()));
            }
            if steady && t.fire < t.check {
                self.alert_checks.push((t.fire, a, firing.clone()));
            }
        }
        self.alert_checks.push((t.check, a, firing));
    }

    /// Checks that the recording rule `record` has `value` (± 1e-9 relative) for `model`.
    fn record_check(&mut self, t: &Timing, record: &str, model: &str, value: f64) {
        let tol = (value.abs() * 1e-9).max(1e-12);
        self.expr_checks.push((
            t.check,
            format!(
                "count by (model) ({record}{{model={}}} > {} < {})",
                quote(model),
                fmt_f64(value - tol),
                fmt_f64(value + tol)
            ),
            vec![model.to_string()],
        ));
    }
}

/// A promtool unit-test file (YAML) for the rule file [`rule_file`]`(config)`, which the test file
/// names as `rule_file_name` (relative to the test file's directory, or absolute).
///
/// Per alert, one test group with input series derived from the thresholds: a model (a project
/// for the budget alert) that breaches the threshold, with the exact labels and annotations
/// expected, and models that do not; with a `for`, a check that the alert is still pending one
/// evaluation before it fires; and checks of the recording rules' values. A threshold no input
/// can breach (e.g. a p99 of 300 s or more, the last finite bucket, or a cache hit ratio minimum
/// of 0 or less) leaves only the not-firing checks.
pub fn rule_tests(config: &AlertConfig, rule_file_name: &str) -> String {
    let s = Spec::new(config);
    let t = Timing::new(config);
    let mut groups = vec![
        latency_tests(&s, &t),
        error_tests(&s, &t),
        token_tests(&s, &t),
        cache_tests(&s, &t),
        cost_tests(&s, &t),
    ];
    if s.budgets_enabled() {
        groups.push(budget_tests(&t));
    }

    let mut out = String::new();
    out.push_str(
        "# promtool unit tests of the llmtrace rules, generated by llmtrace from the same\n",
    );
    out.push_str("# thresholds: promtool test rules <this file>\n");
    out.push_str("rule_files:\n");
    let _ = writeln!(out, "  - {}", quote(rule_file_name));
    let _ = writeln!(out, "evaluation_interval: {}", prom_duration_ms(t.eval));
    out.push_str("tests:\n");
    for g in &groups {
        let _ = writeln!(out, "  - name: {}", quote(&g.name));
        let _ = writeln!(out, "    interval: {}", prom_duration_ms(t.step));
        out.push_str("    input_series:\n");
        for (series, values) in &g.series {
            let _ = writeln!(out, "      - series: {}", quote(series));
            let _ = writeln!(out, "        values: {}", quote(values));
        }
        out.push_str("    alert_rule_test:\n");
        for (at, a, firing) in &g.alert_checks {
            let _ = writeln!(out, "      - eval_time: {}", prom_duration_ms(*at));
            let _ = writeln!(out, "        alertname: {}", quote(a.name()));
            if firing.is_empty() {
                out.push_str("        exp_alerts: []\n");
                continue;
            }
            out.push_str("        exp_alerts:\n");
            for (subject, value) in firing {
                out.push_str("          - exp_labels:\n");
                let _ = writeln!(out, "              severity: {}", quote(a.severity()));
                let _ = writeln!(
                    out,
                    "              {}: {}",
                    a.subject_label(),
                    quote(subject)
                );
                out.push_str("            exp_annotations:\n");
                for (k, v) in s.annotations(*a, subject, &a.render_value(*value)) {
                    let _ = writeln!(out, "              {k}: {}", quote(&v));
                }
            }
        }
        if !g.expr_checks.is_empty() {
            out.push_str("    promql_expr_test:\n");
            for (at, expr, models) in &g.expr_checks {
                let _ = writeln!(out, "      - expr: {}", quote(expr));
                let _ = writeln!(out, "        eval_time: {}", prom_duration_ms(*at));
                out.push_str("        exp_samples:\n");
                for m in models {
                    let _ = writeln!(
                        out,
                        "          - labels: {}",
                        quote(&format!("{{model={}}}", quote(m)))
                    );
                    out.push_str("            value: 1\n");
                }
            }
        }
    }
    out
}

fn calls_series(model: &str, service: &str) -> String {
    format!(
        "llm_calls_total{{model={},provider=\"openai\",operation=\"chat\",service={}}}",
        quote(model),
        quote(service)
    )
}

fn tokens_series(model: &str, kind: &str) -> String {
    format!(
        "llm_tokens_total{{model={},provider=\"openai\",type={}}}",
        quote(model),
        quote(kind)
    )
}

/// p99 of calls that all fall into the bucket `(lo, hi]`, as `histogram_quantile` computes it.
fn bucket_p99(lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * 0.99
}

fn latency_tests(s: &Spec<'_>, t: &Timing) -> TestGroup {
    let a = Alert::Latency;
    let threshold = s.c.p99_latency_seconds;
    let mut g = TestGroup::new(a.name());
    let record = format!("llm:call_seconds:p99_{}", s.w);
    let bounds: Vec<(f64, f64)> = CALL_SECONDS_BUCKETS
        .iter()
        .scan(0.0, |lo, &hi| {
            let b = (*lo, hi);
            *lo = hi;
            Some(b)
        })
        .collect();
    // Slow: every call in the first bucket whose lower bound is >= the threshold, so the p99 is
    // above it; past the last finite bucket, every call in +Inf (p99 = 300 s).
    let slow = if threshold.is_nan() || threshold >= 300.0 {
        None
    } else {
        Some(
            bounds
                .iter()
                .position(|(lo, _)| *lo >= threshold)
                .unwrap_or(bounds.len()),
        )
    };
    // Fast: every call in the last bucket whose upper bound is <= the threshold.
    let fast = bounds.iter().rposition(|(_, hi)| *hi <= threshold);
    let mut firing = Vec::new();
    let add = |g: &mut TestGroup, model: &str, bucket: usize, services: &[(&str, f64)]| {
        for (service, per_step) in services {
            for (i, le) in CALL_SECONDS_BUCKETS
                .iter()
                .map(|b| fmt_f64(*b))
                .chain(["+Inf".to_string()])
                .enumerate()
            {
                let inc = if i >= bucket { *per_step } else { 0.0 };
                g.counter(
                    t,
                    format!(
                        "llm_call_seconds_bucket{{model={},provider=\"openai\",operation=\"chat\",\
                         service={},le={}}}",
                        quote(model),
                        quote(service),
                        quote(&le)
                    ),
                    inc,
                );
            }
        }
    };
    if let Some(b) = slow {
        let model = "model-slow";
        add(&mut g, model, b, &[("api", 3.0), ("worker", 1.0)]);
        let p99 = match bounds.get(b) {
            Some((lo, hi)) => bucket_p99(*lo, *hi),
            None => 300.0,
        };
        firing.push((model.to_string(), p99));
        g.record_check(t, &record, model, p99);
    }
    if let Some(b) = fast {
        let model = "model-fast";
        add(&mut g, model, b, &[("api", 2.0)]);
        let (lo, hi) = bounds[b];
        g.record_check(t, &record, model, bucket_p99(lo, hi));
    }
    // No calls at all in the window: no p99, no alert.
    add(&mut g, "model-idle", 0, &[("api", 0.0)]);
    g.threshold_checks(t, a, firing, true);
    g
}

fn error_tests(s: &Spec<'_>, t: &Timing) -> TestGroup {
    let a = Alert::Errors;
    let threshold = s.c.error_rate;
    let mut g = TestGroup::new(a.name());
    let record = format!("llm:error_ratio:rate{}", s.w);
    let mut firing = Vec::new();
    let add = |g: &mut TestGroup, model: &str, ratio: Nice| {
        // Two services and two error types per model: the rule sums them by model.
        let (errors, calls) = ratio.fraction();
        for service in ["api", "worker"] {
            g.counter(t, calls_series(model, service), calls);
        }
        for error_type in ["timeout", "rate_limit"] {
            g.counter(
                t,
                format!(
                    "llm_errors_total{{model={},provider=\"openai\",error_type={}}}",
                    quote(model),
                    quote(error_type)
                ),
                errors,
            );
        }
        g.record_check(t, &record, model, ratio.value());
    };
    if let Some(r) = Nice::above(threshold, Some(1.0)) {
        add(&mut g, "model-failing", r);
        firing.push(("model-failing".to_string(), r.value()));
    }
    if let Some(r) = Nice::below(threshold) {
        add(&mut g, "model-ok", r);
    }
    // Calls without any error series: no ratio, no alert.
    g.counter(t, calls_series("model-clean", "api"), 10.0);
    g.threshold_checks(t, a, firing, true);
    g
}

fn token_tests(s: &Spec<'_>, t: &Timing) -> TestGroup {
    let a = Alert::Tokens;
    let threshold = s.c.tokens_per_call;
    let mut g = TestGroup::new(a.name());
    let record = format!("llm:tokens_per_call:rate{}", s.w);
    let mut firing = Vec::new();
    // Cache and reasoning tokens are part of input and output: the rule must not add them again.
    let extra = if threshold.is_finite() && threshold > 0.0 {
        (threshold * 2.0).ceil()
    } else {
        1.0
    };
    let add = |g: &mut TestGroup, model: &str, per_call: Nice| {
        let (tokens, calls) = per_call.fraction();
        for service in ["api", "worker"] {
            g.counter(t, calls_series(model, service), calls);
        }
        let total = 2.0 * tokens;
        let output = (total / 5.0).floor();
        g.counter(t, tokens_series(model, "input"), total - output);
        g.counter(t, tokens_series(model, "output"), output);
        for kind in ["cache_read", "cache_write", "reasoning"] {
            g.counter(t, tokens_series(model, kind), extra * 2.0 * calls);
        }
        g.record_check(t, &record, model, per_call.value());
    };
    if let Some(n) = Nice::above(threshold, None).map(Nice::off_prefix_boundary) {
        add(&mut g, "model-verbose", n);
        firing.push(("model-verbose".to_string(), n.value()));
    }
    if let Some(n) = Nice::below(threshold) {
        add(&mut g, "model-terse", n);
    }
    g.threshold_checks(t, a, firing, true);
    g
}

fn cache_tests(s: &Spec<'_>, t: &Timing) -> TestGroup {
    let a = Alert::Cache;
    let threshold = s.c.cache_hit_ratio_min;
    let mut g = TestGroup::new(a.name());
    let record = format!("llm:cache_hit_ratio:rate{}", s.w);
    let end = t.steps_to(t.check);
    let mut firing = Vec::new();
    let add = |g: &mut TestGroup, model: &str, ratio: Nice| {
        let (cache_read, input) = ratio.fraction();
        g.counter(t, tokens_series(model, "input"), input * 10.0);
        g.counter(t, tokens_series(model, "cache_read"), cache_read * 10.0);
        g.counter(t, tokens_series(model, "cache_write"), input);
        g.record_check(t, &record, model, ratio.value());
    };
    // Below the minimum: fires.
    if let Some(r) = Nice::below(threshold) {
        add(&mut g, "model-cold", r);
        firing.push(("model-cold".to_string(), r.value()));
    }
    // At or above the minimum: does not fire.
    if let Some(r) = Nice::above(threshold, Some(1.0)) {
        add(&mut g, "model-warm", r);
    }
    // Read from the cache once, at the start (the cache_read series then goes away, as after a
    // restart): the ratio is 0 in the window and the model still counts as a cache user.
    // Only while that sample is within the lookback.
    let lookback_ms = s.c.window_seconds.max(1).max(CACHE_SEEN_LOOKBACK_SECONDS) * 1000;
    if threshold > 0.0 && t.check < lookback_ms {
        let model = "model-cache-gone";
        g.counter(t, tokens_series(model, "input"), 1000.0);
        g.series
            .push((tokens_series(model, "cache_read"), "5000".to_string()));
        firing.push((model.to_string(), 0.0));
        g.record_check(t, &record, model, 0.0);
    }
    // Never read from the cache (no series, or one that stays 0): no alert.
    g.counter(t, tokens_series("model-nocache", "input"), 1000.0);
    g.counter(t, tokens_series("model-zerocache", "input"), 1000.0);
    g.counter(t, tokens_series("model-zerocache", "cache_read"), 0.0);
    // Used the cache, but no traffic in the window: no alert.
    g.series.push((
        tokens_series("model-idle", "input"),
        format!("1000+0x{end}"),
    ));
    g.series.push((
        tokens_series("model-idle", "cache_read"),
        format!("500+0x{end}"),
    ));
    firing.sort_by(|x, y| x.0.cmp(&y.0));
    g.threshold_checks(t, a, firing, true);
    g
}

fn cost_tests(s: &Spec<'_>, t: &Timing) -> TestGroup {
    let a = Alert::Cost;
    let threshold = s.c.cost_usd_per_hour;
    let mut g = TestGroup::new(a.name());
    let record = format!("llm:cost_usd_per_hour:rate{}", s.w);
    let mut firing = Vec::new();
    let step_hours = t.step as f64 / 3_600_000.0;
    // The cost rate ramps up over the first window (counters start at 0 with the test), so the
    // breaching spend is high enough to breach from the first evaluation:
    // V · min(eval, window) / window > threshold for V >= 2 · threshold · ceil(window / eval).
    let ramp = t.window.div_ceil(t.eval) as f64;
    if let Some(v) = Nice::above(threshold * ramp, None) {
        let model = "model-pricey";
        for provider in ["openai", "azure"] {
            g.counter(
                t,
                format!(
                    "llm_cost_usd_total{{model={},provider={}}}",
                    quote(model),
                    quote(provider)
                ),
                v.value() * step_hours / 2.0,
            );
        }
        firing.push((model.to_string(), v.value()));
        g.record_check(t, &record, model, v.value());
    }
    if let Some(v) = Nice::below(threshold) {
        let model = "model-cheap";
        g.counter(
            t,
            format!(
                "llm_cost_usd_total{{model={},provider=\"openai\"}}",
                quote(model)
            ),
            v.value() * step_hours,
        );
        g.record_check(t, &record, model, v.value());
    }
    g.threshold_checks(t, a, firing, false);
    g
}

fn budget_tests(t: &Timing) -> TestGroup {
    let a = Alert::Budget;
    let mut g = TestGroup::new(a.name());
    // "acme" goes over budget at `jump` (one evaluation after a full window); "quiet" went over
    // before the test and not since.
    let jump = t.window.div_ceil(t.eval) * t.eval + t.eval;
    let after = jump + t.window.div_ceil(t.eval) * t.eval;
    let before_steps = jump / t.step;
    let after_steps = t.steps_to(after) - before_steps;
    g.series.push((
        "llmtrace_trace_budget_exceeded_total{project=\"acme\"}".to_string(),
        format!("0+0x{} 1+0x{after_steps}", before_steps - 1),
    ));
    g.series.push((
        "llmtrace_trace_budget_exceeded_total{project=\"quiet\"}".to_string(),
        format!("3+0x{}", t.steps_to(after)),
    ));
    g.alert_checks.push((jump - t.eval, a, Vec::new()));
    g.alert_checks
        .push((jump, a, vec![("acme".to_string(), 1.0)]));
    // A window later the breach is out of the window: resolved.
    g.alert_checks.push((after, a, Vec::new()));
    g
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/// A YAML double-quoted scalar (JSON-style escapes), safe for any string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') =>
            {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A float as a PromQL number literal (shortest round-trip decimal).
fn promql_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        fmt_f64(v)
    }
}

/// Shortest round-trip decimal of a finite float (`10`, `0.01`).
fn fmt_f64(v: f64) -> String {
    format!("{v}")
}

/// A threshold for humans: at most six significant digits (`7` for `0.07 * 100`).
fn num(v: f64) -> String {
    go_g(v, 6)
}

/// Go's `fmt.Sprintf("%.<prec>g", v)`.
fn go_g(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, v);
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = match digits.trim_end_matches('0') {
        "" => "0",
        d => d,
    };
    if exp < -4 || exp >= prec as i32 {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{exp_sign}{:02}", exp.unsigned_abs())
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
        }
    } else {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    }
}

/// Prometheus' `humanize` template function.
fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g(v, 4);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", go_g(v, 4))
}

/// Prometheus' `humanizeDuration` template function.
fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return go_g(v, 4);
    }
    if v == 0.0 {
        return "0s".to_string();
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        let d = v as i64;
        let (days, hours, minutes, seconds) = (d / 86_400, (d / 3_600) % 24, (d / 60) % 60, d % 60);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", go_g(v, 4))
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g(v, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prom_duration_uses_the_largest_exact_unit() {
        assert_eq!(prom_duration(0), "0s");
        assert_eq!(prom_duration(1), "1s");
        assert_eq!(prom_duration(30), "30s");
        assert_eq!(prom_duration(60), "1m");
        assert_eq!(prom_duration(90), "90s");
        assert_eq!(prom_duration(300), "5m");
        assert_eq!(prom_duration(3600), "1h");
        assert_eq!(prom_duration(5400), "90m");
        assert_eq!(prom_duration(7200), "2h");
        assert_eq!(prom_duration(86_400), "1d");
        assert_eq!(prom_duration(90_000), "25h");
        assert_eq!(prom_duration(3601), "3601s");
        assert_eq!(prom_duration_ms(500), "500ms");
        assert_eq!(prom_duration_ms(30_000), "30s");
    }

    #[test]
    fn go_g_matches_go() {
        assert_eq!(go_g(2.0, 4), "2");
        assert_eq!(go_g(0.5, 4), "0.5");
        assert_eq!(go_g(14.95, 4), "14.95");
        assert_eq!(go_g(14.95 - 1e-12, 4), "14.95");
        assert_eq!(go_g(100.0, 4), "100");
        assert_eq!(go_g(1234.0, 4), "1234");
        assert_eq!(go_g(12_000.0, 4), "1.2e+04");
        assert_eq!(go_g(99_999.0, 4), "1e+05");
        assert_eq!(go_g(0.000_12, 4), "0.00012");
        assert_eq!(go_g(0.000_012, 4), "1.2e-05");
        assert_eq!(go_g(-2.5, 4), "-2.5");
        assert_eq!(go_g(0.0, 4), "0");
        assert_eq!(go_g(7.000_000_000_000_001, 6), "7");
    }

    #[test]
    fn humanize_functions_match_prometheus() {
        assert_eq!(humanize(100_000.0), "100k");
        assert_eq!(humanize(2500.0), "2.5k");
        assert_eq!(humanize(0.6), "600m");
        assert_eq!(humanize(12.0), "12");
        assert_eq!(humanize_duration(29.8), "29.8s");
        assert_eq!(humanize_duration(119.4), "1m 59s");
        assert_eq!(humanize_duration(300.0), "5m 0s");
        assert_eq!(humanize_duration(0.2485), "248.5ms");
        assert_eq!(humanize_duration(3_725.0), "1h 2m 5s");
        assert_eq!(Alert::Errors.render_value(0.02), "2%");
        assert_eq!(Alert::Cache.render_value(0.0), "0%");
    }

    #[test]
    fn nice_numbers() {
        assert_eq!(Nice::above(0.01, Some(1.0)), Some(Nice { m: 20, e: -3 }));
        assert_eq!(Nice::above(0.7, Some(1.0)).map(Nice::value), Some(1.0));
        assert_eq!(Nice::above(1234.5, None).map(Nice::value), Some(2500.0));
        assert_eq!(Nice::above(0.0, None).map(Nice::value), Some(0.5));
        assert_eq!(Nice::below(0.2).map(Nice::value), Some(0.1));
        assert_eq!(Nice::below(1234.5).map(Nice::value), Some(610.0));
        assert_eq!(Nice::below(0.0), None);
        for x in [
            0.001,
            0.07,
            0.3,
            1.0,
            3.0,
            9.99,
            10.0,
            55.5,
            1e6,
            123_456.789,
        ] {
            let up = Nice::ceil(x);
            let down = Nice::floor(x);
            assert!(up.value() >= x && (10..=100).contains(&up.m), "{x}: {up:?}");
            assert!(
                down.value() <= x && (10..100).contains(&down.m),
                "{x}: {down:?}"
            );
        }
        assert_eq!(Nice { m: 25, e: -2 }.fraction(), (25.0, 100.0));
        assert_eq!(Nice { m: 10, e: -1 }.off_prefix_boundary().value(), 1.1);
        assert_eq!(Nice { m: 100, e: 1 }.off_prefix_boundary().value(), 1100.0);
        assert_eq!(Nice { m: 10, e: 2 }.off_prefix_boundary().value(), 1100.0);
        assert_eq!(Nice { m: 10, e: 3 }.off_prefix_boundary().value(), 10_000.0);
        assert_eq!(Nice { m: 10, e: -4 }.off_prefix_boundary().value(), 0.0011);
        assert_eq!(Nice { m: 12, e: 3 }.fraction(), (12_000.0, 1.0));
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        assert_eq!(quote("{{ $labels.model }}"), "\"{{ $labels.model }}\"");
    }

    #[test]
    fn rule_file_default_shape() {
        let f = rule_file(&AlertConfig::default());
        assert!(f.contains("  - name: \"llmtrace\"\n    interval: 30s\n"));
        assert!(f.contains("- record: \"llm:call_seconds:p99_5m\""));
        assert!(f.contains("- record: \"llm:error_ratio:rate5m\""));
        assert!(f.contains("- record: \"llm:tokens_per_call:rate5m\""));
        assert!(f.contains("- record: \"llm:cache_hit_ratio:rate5m\""));
        assert!(f.contains("- record: \"llm:cost_usd_per_hour:rate5m\""));
        assert!(f.contains("for: 5m"));
        assert!(f.contains("max_over_time(llm_tokens_total{type=\"cache_read\"}[1d])"));
        assert!(f.contains("#llmhighp99latency\""));
        assert!(!f.contains("LLMTraceBudgetExceeded"));
        let with_budget = rule_file(&AlertConfig {
            trace_max_cost_usd: Some(2.0),
            ..AlertConfig::default()
        });
        assert!(with_budget.contains("- alert: LLMTraceBudgetExceeded"));
    }

    #[test]
    fn timing_default() {
        let t = Timing::new(&AlertConfig::default());
        assert_eq!((t.step, t.eval, t.window), (30_000, 30_000, 300_000));
        assert_eq!(
            (t.pending, t.fire, t.check),
            (Some(300_000), 330_000, 330_000)
        );
        let t = Timing::new(&AlertConfig {
            window_seconds: 60,
            eval_interval_seconds: 60,
            for_seconds: 0,
            ..AlertConfig::default()
        });
        assert_eq!(
            (t.step, t.pending, t.fire, t.check),
            (30_000, None, 60_000, 60_000)
        );
    }
}
