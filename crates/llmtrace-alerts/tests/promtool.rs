//! The generated rule file and its unit tests, checked by the real `promtool`.
//!
//! Without `promtool` on the PATH the promtool tests are skipped, unless `CI` is set, in which
//! case they fail.

use llmtrace_alerts::rules::{prom_duration, rule_file, rule_tests, ALERT_NAMES};
use llmtrace_alerts::AlertConfig;
use std::path::Path;
use std::process::{Command, Output};

const RULES: &str = "llmtrace-rules.yml";
const TESTS: &str = "llmtrace-rules.test.yml";

/// Whether promtool can be run; `false` (skip) without it, a panic without it under `CI`.
fn have_promtool() -> bool {
    match Command::new("promtool").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        res => {
            let why = match res {
                Ok(out) => format!("`promtool --version` exited with {}", out.status),
                Err(e) => format!("cannot run promtool: {e}"),
            };
            if std::env::var_os("CI").is_some() {
                panic!("{why} (CI is set, so promtool is required; apt-get install prometheus)");
            }
            eprintln!("skipping: {why}");
            false
        }
    }
}

fn promtool(dir: &Path, args: &[&str]) -> Output {
    Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool")
}

fn report(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Writes the rule file of `rules_cfg` and the tests of `tests_cfg`; runs `promtool check
/// rules` (must pass) and `promtool test rules`, whose output is returned.
fn run(rules_cfg: &AlertConfig, tests_cfg: &AlertConfig) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = rule_file(rules_cfg);
    let tests = rule_tests(tests_cfg, RULES);
    std::fs::write(dir.path().join(RULES), &rules).expect("write rules");
    std::fs::write(dir.path().join(TESTS), &tests).expect("write tests");
    // To look at the files: LLMTRACE_RULES_KEEP=<dir> (one file pair per config, last wins).
    if let Some(keep) = std::env::var_os("LLMTRACE_RULES_KEEP") {
        let keep = Path::new(&keep).join(format!(
            "{}s-{}",
            tests_cfg.window_seconds, tests_cfg.eval_interval_seconds
        ));
        std::fs::create_dir_all(&keep).expect("create keep dir");
        std::fs::write(keep.join(RULES), &rules).expect("keep rules");
        std::fs::write(keep.join(TESTS), &tests).expect("keep tests");
    }

    let check = promtool(dir.path(), &["check", "rules", RULES]);
    assert!(
        check.status.success(),
        "{}\n--- rule file\n{rules}",
        report("promtool check rules", &check)
    );
    let test = promtool(dir.path(), &["test", "rules", TESTS]);
    (dir, test)
}

fn check_config(cfg: &AlertConfig) {
    if !have_promtool() {
        return;
    }
    let (_dir, test) = run(cfg, cfg);
    assert!(
        test.status.success(),
        "{}\n--- rule file\n{}\n--- test file\n{}",
        report("promtool test rules", &test),
        rule_file(cfg),
        rule_tests(cfg, RULES)
    );
}

fn short() -> AlertConfig {
    AlertConfig {
        window_seconds: 60,
        for_seconds: 30,
        eval_interval_seconds: 15,
        p99_latency_seconds: 2.0,
        error_rate: 0.05,
        tokens_per_call: 1234.5,
        cache_hit_ratio_min: 0.55,
        cost_usd_per_hour: 0.75,
        trace_max_tokens: Some(20_000),
        trace_max_cost_usd: Some(1.5),
        runbook_url: "https://runbooks.example.com/llm".into(),
        ..AlertConfig::default()
    }
}

#[test]
fn default_config_passes_promtool() {
    check_config(&AlertConfig::default());
}

#[test]
fn short_windows_and_budgets_pass_promtool() {
    check_config(&short());
}

/// No `for`, an evaluation interval longer than half the window, a p99 threshold past the
/// last finite-bucket lower bound (only +Inf breaches it), thresholds near 1 and tiny costs,
/// a cost-only budget and no runbook.
#[test]
fn edge_config_passes_promtool() {
    check_config(&AlertConfig {
        window_seconds: 90,
        for_seconds: 0,
        eval_interval_seconds: 60,
        p99_latency_seconds: 250.0,
        error_rate: 0.7,
        tokens_per_call: 0.3,
        cache_hit_ratio_min: 0.9,
        cost_usd_per_hour: 0.003,
        trace_max_tokens: None,
        trace_max_cost_usd: Some(0.25),
        runbook_url: String::new(),
        ..AlertConfig::default()
    });
}

/// Thresholds no input can breach (p99 past 300 s, a cache minimum of 0) or that everything
/// breaches (error rate, tokens and cost of 0), a `for` that is not a multiple of the
/// evaluation interval, and an hour-long window.
#[test]
fn degenerate_thresholds_pass_promtool() {
    check_config(&AlertConfig {
        window_seconds: 3600,
        for_seconds: 100,
        eval_interval_seconds: 60,
        p99_latency_seconds: 1000.0,
        error_rate: 0.0,
        tokens_per_call: 0.0,
        cache_hit_ratio_min: 0.0,
        cost_usd_per_hour: 0.0,
        trace_max_tokens: Some(1),
        ..AlertConfig::default()
    });
}

/// The tests are not vacuous: against rules with other thresholds, promtool reports failures
/// for the alerts that changed.
#[test]
fn tests_fail_against_other_thresholds() {
    if !have_promtool() {
        return;
    }
    let cfg = AlertConfig::default();
    let mut other = cfg.clone();
    other.error_rate = 0.5;
    other.cache_hit_ratio_min = 0.05;
    other.for_seconds = 60;
    let (_dir, test) = run(&other, &cfg);
    assert!(
        !test.status.success(),
        "{}",
        report("promtool test rules", &test)
    );
    let stderr = String::from_utf8_lossy(&test.stderr);
    for name in [
        "LLMHighErrorRate",
        "LLMCacheHitRatioLow",
        "LLMHighP99Latency",
    ] {
        assert!(stderr.contains(name), "{name} not reported:\n{stderr}");
    }
}

#[test]
fn rule_file_names_every_alert() {
    let with_budget = rule_file(&short());
    for name in ALERT_NAMES {
        assert!(
            with_budget.contains(&format!("      - alert: {name}\n")),
            "{name} missing:\n{with_budget}"
        );
        assert!(
            with_budget.contains(&format!(
                "runbook_url: \"https://runbooks.example.com/llm#{}\"",
                name.to_lowercase()
            )),
            "runbook of {name} missing"
        );
    }
    let w = prom_duration(60);
    for record in [
        format!("llm:call_seconds:p99_{w}"),
        format!("llm:error_ratio:rate{w}"),
        format!("llm:tokens_per_call:rate{w}"),
        format!("llm:cache_hit_ratio:rate{w}"),
        format!("llm:cost_usd_per_hour:rate{w}"),
    ] {
        assert!(
            with_budget.contains(&format!("      - record: \"{record}\"\n")),
            "{record} missing"
        );
    }
    assert_eq!(with_budget.matches("        for: 30s\n").count(), 5);

    let without_budget = rule_file(&AlertConfig::default());
    for name in &ALERT_NAMES[..5] {
        assert!(without_budget.contains(&format!("      - alert: {name}\n")));
    }
    assert!(!without_budget.contains("LLMTraceBudgetExceeded"));
    assert!(!rule_tests(&AlertConfig::default(), RULES).contains("LLMTraceBudgetExceeded"));
}

/// A fixed pseudo-random sweep over windows, intervals, `for`s and thresholds (odd ones
/// included), so the derived test inputs hold beyond the hand-picked configurations.
#[test]
fn threshold_sweep_passes_promtool() {
    if !have_promtool() {
        return;
    }
    let windows = [1, 7, 30, 45, 60, 90, 120, 300, 600];
    let evals = [5, 10, 15, 30, 60, 120];
    let fors = [0, 10, 30, 60, 100, 300];
    let p99 = [0.05, 0.1, 0.3, 1.0, 7.5, 42.0, 120.0, 299.0, 300.0];
    let errors = [0.0, 0.0001, 0.003, 0.123456, 0.99, 1.0, 2.0];
    let tokens = [0.0, 0.5, 7.0, 999.9, 123456.7, 1e7];
    let cache = [0.0, 0.001, 0.33333, 0.75, 0.999, 1.0, 1.5];
    let cost = [0.0, 0.0001, 0.01, 3.3333, 250.0, 1e5];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut pick = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let mut failures = Vec::new();
    for _ in 0..12 {
        let cfg = AlertConfig {
            window_seconds: windows[pick(windows.len())],
            eval_interval_seconds: evals[pick(evals.len())],
            for_seconds: fors[pick(fors.len())],
            p99_latency_seconds: p99[pick(p99.len())],
            error_rate: errors[pick(errors.len())],
            tokens_per_call: tokens[pick(tokens.len())],
            cache_hit_ratio_min: cache[pick(cache.len())],
            cost_usd_per_hour: cost[pick(cost.len())],
            trace_max_tokens: (pick(2) == 0).then_some(5),
            trace_max_cost_usd: (pick(2) == 0).then_some(0.5),
            ..AlertConfig::default()
        };
        let (_dir, out) = run(&cfg, &cfg);
        if !out.status.success() {
            failures.push(format!("{cfg:?}\n{}", report("promtool test rules", &out)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
