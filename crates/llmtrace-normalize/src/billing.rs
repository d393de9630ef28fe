//! The span facts pricing needs beyond tokens: the service tier the call ran on (batch, flex and
//! priority are priced differently), a cost the client already reported (kept beside the
//! computed one and preferred by totals), and the 1-hour-TTL part of cache writes (priced apart
//! from 5-minute writes). Keys that no dialect owns; each is read only when still unset.

use crate::keys;
use llmtrace_model::{Money, Span};

/// Fills `gen_ai.service_tier`, `cost.reported` and `usage.cache_write_1h` when still unset.
pub(crate) fn apply(span: &mut Span) {
    let attrs = &span.attributes;
    if span.gen_ai.service_tier.is_none() {
        span.gen_ai.service_tier = [
            keys::OPENAI_RESPONSE_SERVICE_TIER,
            keys::GEN_AI_OPENAI_RESPONSE_SERVICE_TIER,
            keys::OPENAI_REQUEST_SERVICE_TIER,
            keys::GEN_AI_OPENAI_REQUEST_SERVICE_TIER,
        ]
        .iter()
        .find_map(|k| attrs.get_str(k))
        .map(|t| t.trim().to_ascii_lowercase());
    }
    if span.cost.reported.is_none() {
        span.cost.reported = attrs
            .get(keys::GEN_AI_USAGE_COST)
            .and_then(|v| v.as_f64())
            .filter(|usd| *usd >= 0.0)
            .and_then(Money::from_f64_usd);
    }
    if span.usage.cache_write_1h.is_none() {
        if let Some(n) = attrs
            .get(keys::ANTHROPIC_CACHE_WRITE_1H)
            .and_then(|v| v.as_i64())
            .and_then(|n| u64::try_from(n).ok())
        {
            // Never more than the total written, whatever the sender said.
            span.usage.cache_write_1h = Some(n.min(span.usage.cache_write.unwrap_or(n)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmtrace_model::AttrValue;

    #[test]
    fn reads_tier_cost_and_one_hour_writes() {
        let mut s = Span::default();
        s.attributes
            .push("openai.request.service_tier", AttrValue::Str("auto".into()));
        s.attributes.push(
            "openai.response.service_tier",
            AttrValue::Str("Priority".into()),
        );
        s.attributes
            .push("gen_ai.usage.cost", AttrValue::Double(0.0025));
        s.attributes
            .push(keys::ANTHROPIC_CACHE_WRITE_1H, AttrValue::Int(40));
        s.usage.cache_write = Some(30);
        apply(&mut s);
        assert_eq!(s.gen_ai.service_tier.as_deref(), Some("priority"));
        assert_eq!(s.cost.reported, Some(Money::from_pico(2_500_000_000)));
        assert_eq!(s.usage.cache_write_1h, Some(30));

        let mut neg = Span::default();
        neg.attributes
            .push("gen_ai.usage.cost", AttrValue::Str("-1".into()));
        apply(&mut neg);
        assert_eq!(neg.cost.reported, None);
    }
}
