//! Exact money: integer pico-dollars (1e-12 USD), never floating point.
//!
//! A per-token price like $0.02 per million tokens is 20,000 pico-dollars per token, so every
//! price in use is an integer here, and sums of any number of spans are exact. An `i64` holds up
//! to about $9.2 million, far more than one span or trace costs; aggregates over many spans are
//! summed in `i128`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Pico-dollars per dollar.
pub const PICO_PER_USD: i64 = 1_000_000_000_000;

/// An amount of US dollars, exact to 1e-12.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Money {
    /// The amount in pico-dollars.
    pub pico_usd: i64,
}

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money { pico_usd: 0 };

    /// From pico-dollars.
    pub fn from_pico(pico_usd: i64) -> Self {
        Money { pico_usd }
    }

    /// Sum, saturating at the `i64` bounds.
    pub fn saturating_add(self, other: Money) -> Money {
        Money::from_pico(self.pico_usd.saturating_add(other.pico_usd))
    }

    /// The decimal dollar string with twelve fractional digits trimmed of trailing zeros
    /// (`"0.00123"`, `"12"`), exact.
    pub fn to_decimal_string(self) -> String {
        let neg = self.pico_usd < 0;
        let abs = self.pico_usd.unsigned_abs();
        let whole = abs / PICO_PER_USD as u64;
        let frac = abs % PICO_PER_USD as u64;
        let mut s = if neg { "-".to_string() } else { String::new() };
        s.push_str(&whole.to_string());
        if frac != 0 {
            let f = format!("{frac:012}");
            s.push('.');
            s.push_str(f.trim_end_matches('0'));
        }
        s
    }

    /// Parses a decimal dollar string (`"0.0025"`, `"3e-6"` is not accepted: use
    /// [`Money::from_f64_usd`] for floats from the wire).
    pub fn parse_decimal(s: &str) -> Option<Money> {
        let s = s.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && frac.is_empty() || frac.len() > 12 {
            return None;
        }
        if !whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let w: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let f: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<12}").parse().ok()?
        };
        let v = w.checked_mul(PICO_PER_USD)?.checked_add(f)?;
        Some(Money::from_pico(if neg { -v } else { v }))
    }

    /// Converts a dollar amount received as a float (an SDK-reported cost), rounded to the
    /// nearest pico-dollar. Not for arithmetic: only for taking in values that arrive as floats.
    pub fn from_f64_usd(usd: f64) -> Option<Money> {
        if !usd.is_finite() || usd.abs() > 9.0e6 {
            return None;
        }
        Some(Money::from_pico((usd * PICO_PER_USD as f64).round() as i64))
    }

    /// The amount as a float, for display and JSON numbers only.
    pub fn to_f64_usd(self) -> f64 {
        self.pico_usd as f64 / PICO_PER_USD as f64
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.to_decimal_string())
    }
}

/// Where a span's effective cost came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    /// Computed by llmtrace from usage and a price entry.
    Computed,
    /// Reported by the client (SDK or instrumentation); it wins over a computed cost.
    Reported,
}

/// The cost of one span.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SpanCost {
    /// Cost computed from usage × price; `None` when unpriced or nothing to price.
    pub computed: Option<Money>,
    /// Cost the client reported (`gen_ai.usage.cost`, Langfuse `cost_details`, ...).
    pub reported: Option<Money>,
    /// Id of the price entry that priced the span.
    pub price_id: Option<String>,
    /// `effective_from` date (YYYY-MM-DD) of that entry.
    pub price_effective_from: Option<String>,
    /// A model call with usage whose model has no price: its cost is unknown, never zero.
    pub unpriced: bool,
}

impl SpanCost {
    /// The cost totals use: reported wins over computed.
    pub fn effective(&self) -> Option<Money> {
        self.reported.or(self.computed)
    }

    /// Which of the two [`SpanCost::effective`] is.
    pub fn source(&self) -> Option<CostSource> {
        if self.reported.is_some() {
            Some(CostSource::Reported)
        } else if self.computed.is_some() {
            Some(CostSource::Computed)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_are_exact() {
        assert_eq!(
            Money::from_pico(1_230_000_000).to_decimal_string(),
            "0.00123"
        );
        assert_eq!(
            Money::from_pico(12 * PICO_PER_USD).to_decimal_string(),
            "12"
        );
        assert_eq!(Money::from_pico(-5).to_decimal_string(), "-0.000000000005");
        assert_eq!(
            Money::parse_decimal("0.00123"),
            Some(Money::from_pico(1_230_000_000))
        );
        assert_eq!(
            Money::parse_decimal("3"),
            Some(Money::from_pico(3 * PICO_PER_USD))
        );
        assert_eq!(Money::parse_decimal("0.0000000000001"), None);
        assert_eq!(Money::parse_decimal("abc"), None);
        assert_eq!(
            Money::from_f64_usd(0.0025),
            Some(Money::from_pico(2_500_000_000))
        );
    }

    #[test]
    fn reported_wins() {
        let c = SpanCost {
            computed: Some(Money::from_pico(10)),
            reported: Some(Money::from_pico(7)),
            ..Default::default()
        };
        assert_eq!(c.effective(), Some(Money::from_pico(7)));
        assert_eq!(c.source(), Some(CostSource::Reported));
        assert_eq!(SpanCost::default().source(), None);
    }
}
