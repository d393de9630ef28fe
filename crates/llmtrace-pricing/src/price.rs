//! Exact money math for prices: a per-token price is an integer count of 1e-21 USD
//! ("zepto-dollars") per token, parsed from decimal text without ever passing through `f64`.
//!
//! 1e-21 USD per token is 1e-15 USD per million tokens, so every price written with up to 15
//! decimals in USD per million tokens (or 21 decimals in USD per token, as LiteLLM writes them) is
//! held exactly. A cost is the exact sum of `tokens × price` in `u128`, rounded once, half up, to
//! [`Money`] pico-dollars (1e-12 USD).

use crate::PricingError;
use llmtrace_model::Money;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Decimal digits of a per-token price held exactly (units of 1e-21 USD per token).
pub const PER_TOKEN_DECIMALS: u32 = 21;
/// Decimal digits of a per-million-tokens price held exactly (the same unit: 1e-15 USD per
/// million tokens).
pub const PER_MILLION_DECIMALS: u32 = 15;
/// Units of a price per pico-dollar: a `tokens × price` product divided by this is pico-dollars.
const UNITS_PER_PICO: u128 = 1_000_000_000;

/// An exact price per token, in units of 1e-21 USD.
///
/// Serialized (for the API and for price files) as a decimal string in USD per million tokens,
/// e.g. `"3.75"`; deserialized from such a string or a number (numbers are read through their
/// shortest decimal form, so `0.3` means exactly 0.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(u128);

impl Price {
    /// Free.
    pub const ZERO: Price = Price(0);

    /// From a count of 1e-21 USD per token.
    pub const fn from_units(units: u128) -> Price {
        Price(units)
    }

    /// The count of 1e-21 USD per token.
    pub const fn units(self) -> u128 {
        self.0
    }

    /// Parses a decimal number of USD per token, as LiteLLM writes them (`"3e-06"`,
    /// `"0.0000025"`, `"0"`). Digits finer than 1e-21 are rounded half up.
    pub fn parse_per_token(text: &str) -> Result<Price, PricingError> {
        parse_scaled(text, PER_TOKEN_DECIMALS).map(Price)
    }

    /// Parses a decimal number of USD per million tokens (`"3"`, `"0.30"`, `"3.75"`,
    /// `"1.25e-1"`). Digits finer than 1e-15 are rounded half up.
    pub fn parse_per_million(text: &str) -> Result<Price, PricingError> {
        parse_scaled(text, PER_MILLION_DECIMALS).map(Price)
    }

    /// The price in USD per million tokens as a plain decimal string, exact, without trailing
    /// zeros (`"3"`, `"0.3"`, `"3.75"`).
    pub fn to_per_million_string(self) -> String {
        format_scaled(self.0, PER_MILLION_DECIMALS)
    }

    /// The price in USD per token as a plain decimal string, exact (`"0.000003"`).
    pub fn to_per_token_string(self) -> String {
        format_scaled(self.0, PER_TOKEN_DECIMALS)
    }

    /// `tokens × self`, in price units (1e-21 USD); `None` on overflow.
    pub(crate) fn times(self, tokens: u64) -> Option<u128> {
        self.0.checked_mul(u128::from(tokens))
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}/MTok", self.to_per_million_string())
    }
}

/// Converts an exact sum in price units (1e-21 USD) to pico-dollars, rounding half up once;
/// saturates at the largest [`Money`].
pub(crate) fn units_to_money(units: u128) -> Money {
    let pico = units / UNITS_PER_PICO + u128::from(units % UNITS_PER_PICO >= UNITS_PER_PICO / 2);
    Money::from_pico(i64::try_from(pico).unwrap_or(i64::MAX))
}

/// Parses a non-negative decimal number (optionally with an exponent) into an integer count of
/// 10^-`decimals` units, rounding half up past the last kept digit.
fn parse_scaled(text: &str, decimals: u32) -> Result<u128, PricingError> {
    let err = |reason| PricingError::InvalidPrice {
        value: text.to_string(),
        reason,
    };
    let s = text.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(rest) = s.strip_prefix('-') {
        // "-0" is still zero, anything else is a negative price.
        return match parse_scaled(rest, decimals) {
            Ok(0) => Ok(0),
            Ok(_) => Err(err("prices cannot be negative")),
            Err(_) => Err(err("not a decimal number")),
        };
    }
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(err("not a number"));
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(err("not a decimal number"));
    }
    let exp: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("bad exponent"));
            }
            if digits.len() > 6 {
                return Err(err("exponent out of range"));
            }
            let v: i64 = digits.parse().map_err(|_| err("bad exponent"))?;
            if e.starts_with('-') {
                -v
            } else {
                v
            }
        }
    };
    // Leading zeros of the integer part carry nothing (and would only lengthen the walk below).
    let int_part = int_part.trim_start_matches('0');
    let digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|b| b - b'0')
        .collect();
    // Position of the decimal point counted in digits from the left, then the number of leading
    // digits that make up the scaled integer.
    if digits.iter().all(|&d| d == 0) {
        return Ok(0);
    }
    let point = int_part.len() as i64 + exp;
    let keep = point + i64::from(decimals);
    let mut value: u128 = 0;
    if keep > 0 {
        if keep > 60 {
            return Err(err("too large"));
        }
        for i in 0..keep as usize {
            let d = digits.get(i).copied().unwrap_or(0);
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(d)))
                .ok_or_else(|| err("too large"))?;
        }
    }
    // Half up: the first dropped digit decides.
    let first_dropped = if keep >= 0 {
        digits.get(keep as usize).copied()
    } else {
        None
    };
    if first_dropped.is_some_and(|d| d >= 5) {
        value = value.checked_add(1).ok_or_else(|| err("too large"))?;
    }
    Ok(value)
}

/// Formats `units × 10^-decimals` as a plain decimal string without trailing zeros.
fn format_scaled(units: u128, decimals: u32) -> String {
    let base = 10u128.pow(decimals);
    let whole = units / base;
    let frac = units % base;
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:0width$}", width = decimals as usize);
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_per_million_string())
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PerMillionVisitor)
    }
}

/// Reads a USD-per-million-tokens price from a string or a number.
struct PerMillionVisitor;

impl Visitor<'_> for PerMillionVisitor {
    type Value = Price;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a price in USD per million tokens, as a decimal string or a number")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Price, E> {
        Price::parse_per_million(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Price, E> {
        Price::parse_per_million(&v.to_string()).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Price, E> {
        Price::parse_per_million(&v.to_string()).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Price, E> {
        if !v.is_finite() {
            return Err(E::custom("a price must be a finite number"));
        }
        // `Display` of an f64 is its shortest round-trip decimal form, without an exponent, so
        // a number written as 0.3 is read as exactly 0.3.
        Price::parse_per_million(&format!("{v}")).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_litellm_numbers_exactly() {
        let cases = [
            ("3e-06", 3_000_000_000_000_000u128),
            ("3.75e-06", 3_750_000_000_000_000),
            ("1.25E-7", 125_000_000_000_000),
            ("0.000015", 15_000_000_000_000_000),
            ("0", 0),
            ("0.0", 0),
            ("-0", 0),
            ("2", 2_000_000_000_000_000_000_000),
            ("1e-21", 1),
            // float artefact in LiteLLM data: 22nd decimal rounds half up
            ("0.0000029999900000000002", 2_999_990_000_000_000),
            ("0.0000000000000000000005", 1),
            ("0.0000000000000000000004", 0),
        ];
        for (text, units) in cases {
            assert_eq!(
                Price::parse_per_token(text).ok(),
                Some(Price(units)),
                "{text}"
            );
        }
        for bad in ["", "abc", "-1e-6", "1e", "1.2.3", ".", "1e-", "0x10"] {
            assert!(Price::parse_per_token(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn per_million_round_trip() {
        for text in [
            "3",
            "0.3",
            "3.75",
            "0.075",
            "2.125",
            "0.000000000000001",
            "1500",
        ] {
            let p = Price::parse_per_million(text).ok();
            assert_eq!(p.map(|p| p.to_per_million_string()), Some(text.to_string()));
        }
        assert_eq!(
            Price::parse_per_million("0.30").ok(),
            Price::parse_per_token("3e-7").ok()
        );
        assert_eq!(
            Price::parse_per_token("3e-7")
                .map(|p| p.to_per_token_string())
                .ok(),
            Some("0.0000003".to_string())
        );
    }

    #[test]
    fn rounds_half_up_once() {
        // 499_999_999 units = 0.499999999 pico → 0; 500_000_000 units = 0.5 pico → 1
        assert_eq!(units_to_money(499_999_999).pico_usd, 0);
        assert_eq!(units_to_money(500_000_000).pico_usd, 1);
        assert_eq!(units_to_money(1_500_000_000).pico_usd, 2);
        assert_eq!(units_to_money(u128::MAX).pico_usd, i64::MAX);
    }

    #[test]
    fn deserializes_strings_and_numbers() {
        let p: Vec<Price> = serde_json::from_str(r#"["3.75", 3.75, 15, "1e-1"]"#).unwrap();
        assert_eq!(p[0], p[1]);
        assert_eq!(p[2].to_per_million_string(), "15");
        assert_eq!(p[3].to_per_million_string(), "0.1");
        assert!(serde_json::from_str::<Price>("-1").is_err());
    }
}
