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

/// One money format for every page: three significant digits (`$0.0312`, `$4.52`, `$12.4`),
/// whole dollars with separators from $1,000 (`$1,234`), `<$0.0001` below a hundredth of a cent,
/// `$0` for zero and `–` when unknown. Sorting by cost then reads as well as it sorts.
pub(crate) fn usd(v: Option<f64>) -> String {
    let Some(v) = v.filter(|v| v.is_finite()) else {
        return "–".into();
    };
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    if a == 0.0 {
        "$0".into()
    } else if a < 0.0001 {
        format!("{sign}<$0.0001")
    } else if a >= 999.5 {
        format!("{sign}${}", count(a.round() as u64))
    } else {
        // Decimals that keep three significant digits, then no trailing zeros past the cents.
        let magnitude = a.log10().floor() as i32;
        let decimals = (2 - magnitude).clamp(0, 6) as usize;
        let s = format!("{a:.decimals$}");
        let s = if decimals > 2 {
            let t = s.trim_end_matches('0');
            let t = t.trim_end_matches('.');
            // Keep cents readable: `$0.5` reads `$0.50`.
            match t.split_once('.') {
                Some((_, frac)) if frac.len() < 2 => format!("{t}{}", "0".repeat(2 - frac.len())),
                None => t.to_string(),
                _ => t.to_string(),
            }
        } else {
            s
        };
        format!("{sign}${s}")
    }
}

/// One percent format for every page (error rates, cache hit ratios, shares): `0%`, `<0.1%`,
/// one decimal below 10 % (`2.5%`), whole numbers above (`45%`); `–` when there is no base.
pub(crate) fn percent(ratio: Option<f64>) -> String {
    match ratio.filter(|r| r.is_finite()) {
        None => "–".into(),
        Some(r) if r <= 0.0 => "0%".into(),
        Some(r) if r < 0.001 => "<0.1%".into(),
        Some(r) if r < 0.1 => format!("{:.1}%", r * 100.0),
        Some(r) => format!("{:.0}%", r * 100.0),
    }
}

/// `part` of `whole` as a percentage (`–` when `whole` is 0).
pub(crate) fn share(part: u64, whole: u64) -> String {
    percent((whole > 0).then(|| part as f64 / whole as f64))
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

/// A point in time as a `<time>` element: UTC to the second in the page (and on hover), which
/// the page's script rewrites to the reader's time zone with a relative age ("3 min ago").
pub(crate) fn when(rfc3339: &str) -> maud::Markup {
    let utc = time(rfc3339);
    maud::html! {
        time.when datetime=(rfc3339) title={ (utc) " UTC" } { (utc) }
    }
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
        assert_eq!(usd(Some(0.0)), "$0");
        assert_eq!(usd(Some(0.00004)), "<$0.0001");
        assert_eq!(usd(Some(0.000123)), "$0.000123");
        assert_eq!(usd(Some(0.00123456)), "$0.00123");
        assert_eq!(usd(Some(0.0312)), "$0.0312");
        assert_eq!(usd(Some(0.5)), "$0.50");
        assert_eq!(usd(Some(4.5213)), "$4.52");
        assert_eq!(usd(Some(12.4)), "$12.4");
        assert_eq!(usd(Some(123.44)), "$123");
        assert_eq!(usd(Some(1234.5)), "$1,235");
        assert_eq!(usd(Some(-0.0312)), "-$0.0312");
        assert_eq!(percent(None), "–");
        assert_eq!(percent(Some(0.0)), "0%");
        assert_eq!(percent(Some(0.0004)), "<0.1%");
        assert_eq!(percent(Some(0.025)), "2.5%");
        assert_eq!(percent(Some(0.4567)), "46%");
        assert_eq!(share(1, 3), "33%");
        assert_eq!(share(1, 0), "–");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(
            time("2026-01-01T12:00:03.123456789Z"),
            "2026-01-01 12:00:03"
        );
    }
}
