//! How numbers, durations, money and times read on a page.

/// `1.2 s`, `340 ms`, `2 min 5 s`.
pub(crate) fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "–".into();
    }
    if ms < 1.0 {
        format!("{:.2} ms", ms)
    } else if ms < 1000.0 {
        format!("{:.0} ms", ms)
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// `$0.0123`, `$12.40`, `–` when unknown.
pub(crate) fn usd(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(0.0) => "$0".into(),
        Some(v) if v.abs() < 0.01 => {
            // Three significant digits, however small.
            let decimals = ((-v.abs().log10()).ceil() as usize + 2).min(12);
            let s = format!("${v:.decimals$}");
            let s = s.trim_end_matches('0');
            s.trim_end_matches('.').to_string()
        }
        Some(v) => format!("${v:.2}"),
    }
}

/// A cost that may be unknown or partial: `$0.0012`; `≥ $0.0012` with a badge "1 call unpriced"
/// when some calls have no price; "unknown" when no call has one (an unknown cost is not $0).
pub(crate) fn cost(v: Option<f64>, unpriced_calls: u64) -> maud::Markup {
    let calls = |n: u64| if n == 1 { "call" } else { "calls" };
    maud::html! {
        @match v {
            None => span.unknown-cost title="No call here has a price: the cost is unknown" { "unknown" }
            Some(c) if unpriced_calls > 0 => {
                span.partial-cost title="Some calls have no price: the cost is at least this" { "≥ " (usd(Some(c))) }
                " " span.badge.warn { (unpriced_calls) " " (calls(unpriced_calls)) " unpriced" }
            }
            Some(c) => (usd(Some(c))),
        }
    }
}

/// `12,345`.
pub(crate) fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An RFC 3339 time shown to the second (`2026-01-01 12:00:03`), UTC.
pub(crate) fn time(rfc3339: &str) -> String {
    let t = rfc3339.replace('T', " ");
    let t = t.trim_end_matches('Z');
    match t.find('.') {
        Some(dot) => t[..dot].to_string(),
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_figures() {
        assert_eq!(duration_ms(0.5), "0.50 ms");
        assert_eq!(duration_ms(340.2), "340 ms");
        assert_eq!(duration_ms(1234.0), "1.23 s");
        assert_eq!(duration_ms(125_000.0), "2 min 5 s");
        assert_eq!(usd(None), "–");
        assert_eq!(usd(Some(0.000123)), "$0.000123");
        assert_eq!(usd(Some(0.0000004)), "$0.0000004");
        assert_eq!(usd(Some(0.00123456)), "$0.00123");
        assert_eq!(usd(Some(12.4)), "$12.40");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(
            time("2026-01-01T12:00:03.123456789Z"),
            "2026-01-01 12:00:03"
        );
    }
}
