//! End-to-end pricing tests against the built-in table and user files. Every expected dollar
//! amount is worked out by hand in a comment, from the per-million-token prices in
//! `data/default_prices.json` (LiteLLM 1.110.2).

use llmtrace_model::{Money, Span, SpanCost, SpanKind, Usage};
use llmtrace_pricing::{
    apply, builtin_entries, import_litellm, parse_user_file, to_user_file, to_user_file_as,
    FileFormat, Mode, PriceBook, PriceEntry, PriceOutcome, PriceSource, PricingError,
};

/// 2026-01-01T00:00:00Z in Unix nanoseconds.
const JAN_2026: u64 = 1_767_225_600 * 1_000_000_000;
const DAY: u64 = 86_400 * 1_000_000_000;

/// Unix nanoseconds at midnight UTC of a date.
fn at(date: &str) -> u64 {
    let day = llmtrace_pricing::Day::parse(date).expect("test date");
    day.days_since_epoch() as u64 * DAY
}

fn usd(s: &str) -> Money {
    Money::parse_decimal(s).expect("test amount")
}

#[derive(Clone, Copy, Default)]
struct U {
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    cache_write_1h: u64,
    reasoning: u64,
}

impl U {
    fn io(input: u64, output: u64) -> U {
        U {
            input,
            output,
            ..U::default()
        }
    }

    fn usage(self) -> Usage {
        let opt = |v: u64| (v > 0).then_some(v);
        Usage {
            input: Some(self.input),
            output: Some(self.output),
            cache_read: opt(self.cache_read),
            cache_write: opt(self.cache_write),
            cache_write_1h: opt(self.cache_write_1h),
            reasoning: opt(self.reasoning),
        }
    }
}

fn span(model: &str, provider: Option<&str>, u: U) -> Span {
    let mut s = Span {
        kind: SpanKind::Llm,
        start_unix_nano: JAN_2026,
        usage: u.usage(),
        project: "default".into(),
        ..Span::default()
    };
    s.gen_ai.response_model = Some(model.to_string());
    s.gen_ai.provider = provider.map(str::to_string);
    s
}

fn priced(outcome: PriceOutcome) -> (Money, String) {
    match outcome {
        PriceOutcome::Priced { cost, price_id, .. } => (cost, price_id),
        other => panic!("expected a price, got {other:?}"),
    }
}

struct Case {
    name: &'static str,
    model: &'static str,
    provider: Option<&'static str>,
    kind: SpanKind,
    tier: Option<&'static str>,
    usage: U,
    /// Expected cost in USD.
    usd: &'static str,
    /// Expected price id (`None`: any built-in id).
    id: Option<&'static str>,
}

const fn case(name: &'static str, model: &'static str, provider: Option<&'static str>) -> Case {
    Case {
        name,
        model,
        provider,
        kind: SpanKind::Llm,
        tier: None,
        usage: U {
            input: 0,
            output: 0,
            cache_read: 0,
            cache_write: 0,
            cache_write_1h: 0,
            reasoning: 0,
        },
        usd: "0",
        id: None,
    }
}

#[test]
fn builtin_table_prices_real_usage_shapes() {
    let book = PriceBook::builtin().expect("builtin");
    let cases = [
        Case {
            // claude-sonnet-4-6: $3 in, $15 out, $0.30 cache read, $3.75 5m write, $6 1h write.
            // uncached = 10,000 − 6,000 − 3,000 = 1,000 → 1,000 × 3/1e6     = 0.003
            // cache read 6,000 × 0.30/1e6                                  = 0.0018
            // 5m write (3,000 − 1,000) = 2,000 × 3.75/1e6                  = 0.0075
            // 1h write 1,000 × 6/1e6                                       = 0.006
            // output 500 × 15/1e6                                          = 0.0075
            // total                                                        = 0.0258
            usage: U {
                input: 10_000,
                output: 500,
                cache_read: 6_000,
                cache_write: 3_000,
                cache_write_1h: 1_000,
                reasoning: 0,
            },
            usd: "0.0258",
            id: Some("builtin:claude-sonnet-4-6@1970-01-01"),
            ..case(
                "anthropic cache read + 5m + 1h writes",
                "claude-sonnet-4-6",
                Some("anthropic"),
            )
        },
        Case {
            // gpt-4o: $2.50 in, $10 out, $1.25 cached input.
            // uncached 2,000 − 1,024 = 976 × 2.5/1e6 = 0.00244
            // cached 1,024 × 1.25/1e6                = 0.00128
            // output 300 × 10/1e6                    = 0.003
            // total                                  = 0.00672
            usage: U {
                input: 2_000,
                output: 300,
                cache_read: 1_024,
                ..U::default()
            },
            usd: "0.00672",
            id: Some("builtin:gpt-4o@1970-01-01"),
            ..case("openai cached prompt tokens", "gpt-4o", Some("openai"))
        },
        Case {
            // o3: $2 in, $8 out; reasoning is not priced apart, so the 4,000 reasoning tokens
            // are part of the 5,000 output tokens at $8.
            // 1,000 × 2/1e6 = 0.002; 5,000 × 8/1e6 = 0.04; total 0.042
            usage: U {
                input: 1_000,
                output: 5_000,
                reasoning: 4_000,
                ..U::default()
            },
            usd: "0.042",
            id: Some("builtin:o3@1970-01-01"),
            ..case("openai reasoning tokens", "o3", Some("openai"))
        },
        Case {
            // gemini-2.5-pro (Vertex entry) above 200k prompt tokens: the >200k prices apply to
            // every token: $2.50 in, $15 out, $0.25 cache read.
            // uncached 250,000 − 50,000 = 200,000 × 2.5/1e6 = 0.5
            // cache read 50,000 × 0.25/1e6                 = 0.0125
            // output 2,000 × 15/1e6                        = 0.03
            // total                                        = 0.5425
            usage: U {
                input: 250_000,
                output: 2_000,
                cache_read: 50_000,
                ..U::default()
            },
            usd: "0.5425",
            id: Some("builtin:gemini-2.5-pro@1970-01-01"),
            ..case("gemini above 200k", "gemini-2.5-pro", Some("gcp.vertex_ai"))
        },
        Case {
            // exactly 200,000 prompt tokens is not above 200k: $1.25 in, $10 out.
            // 200,000 × 1.25/1e6 = 0.25; 2,000 × 10/1e6 = 0.02; total 0.27
            // The Gemini API span prefers the gemini/ entry over the Vertex one.
            usage: U::io(200_000, 2_000),
            usd: "0.27",
            id: Some("builtin:gemini/gemini-2.5-pro@1970-01-01"),
            ..case("gemini at 200k", "gemini-2.5-pro", Some("gcp.gemini"))
        },
        Case {
            // gemini-2.5-pro priority above 200k: $4.50 in, $27 out.
            // 300,000 × 4.5/1e6 = 1.35; 1,000 × 27/1e6 = 0.027; total 1.377
            tier: Some("priority"),
            usage: U::io(300_000, 1_000),
            usd: "1.377",
            id: Some("builtin:gemini/gemini-2.5-pro@1970-01-01"),
            ..case("gemini priority above 200k", "models/gemini-2.5-pro", None)
        },
        Case {
            // text-embedding-3-small: $0.02 per million input tokens, input only.
            // 1,234,567 × 0.02/1e6 = 0.02469134
            kind: SpanKind::Embedding,
            usage: U::io(1_234_567, 0),
            usd: "0.02469134",
            id: Some("builtin:text-embedding-3-small@1970-01-01"),
            ..case("embedding", "text-embedding-3-small", Some("openai"))
        },
        Case {
            // gpt-4o priority: $4.25 in, $17 out.
            // 1,000,000 × 4.25/1e6 = 4.25; 100,000 × 17/1e6 = 1.7; total 5.95
            tier: Some("priority"),
            usage: U::io(1_000_000, 100_000),
            usd: "5.95",
            id: Some("builtin:gpt-4o@1970-01-01"),
            ..case("service tier priority", "gpt-4o", Some("openai"))
        },
        Case {
            // gpt-4o batch: $1.25 in, $5 out.
            // 1,000,000 × 1.25/1e6 = 1.25; 100,000 × 5/1e6 = 0.5; total 1.75
            tier: Some("batch"),
            usage: U::io(1_000_000, 100_000),
            usd: "1.75",
            ..case("service tier batch", "gpt-4o", Some("openai"))
        },
        Case {
            // gpt-4o "default" tier is standard: 1,000,000 × 2.5/1e6 + 100,000 × 10/1e6 = 3.5
            tier: Some("default"),
            usage: U::io(1_000_000, 100_000),
            usd: "3.5",
            ..case("service tier default", "gpt-4o", Some("openai"))
        },
        Case {
            // o3 flex: $1 in, $4 out, $0.25 cache read.
            // uncached 800,000 × 1/1e6 = 0.8; cached 200,000 × 0.25/1e6 = 0.05;
            // output 10,000 × 4/1e6 = 0.04; total 0.89
            tier: Some("flex"),
            usage: U {
                input: 1_000_000,
                output: 10_000,
                cache_read: 200_000,
                ..U::default()
            },
            usd: "0.89",
            ..case("service tier flex", "o3", Some("openai"))
        },
        Case {
            // Bedrock US cross-region id, exact entry, priced 1.1×: $3.30 in, $16.50 out.
            // 100,000 × 3.3/1e6 = 0.33; 10,000 × 16.5/1e6 = 0.165; total 0.495
            usage: U::io(100_000, 10_000),
            usd: "0.495",
            id: Some("builtin:us.anthropic.claude-sonnet-4-5-20250929-v1:0@1970-01-01"),
            ..case(
                "bedrock cross-region id",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                Some("aws.bedrock"),
            )
        },
        Case {
            // Same id above 200k prompt tokens: $6.60 in, $24.75 out for every token.
            // 1,000,000 × 6.6/1e6 = 6.6; 100,000 × 24.75/1e6 = 2.475; total 9.075
            usage: U::io(1_000_000, 100_000),
            usd: "9.075",
            id: Some("builtin:us.anthropic.claude-sonnet-4-5-20250929-v1:0@1970-01-01"),
            ..case(
                "bedrock cross-region id",
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                Some("aws.bedrock"),
            )
        },
        Case {
            // Bedrock base id: $3 in, $15 out. 3 + 1.5 = 4.5
            usage: U::io(1_000_000, 100_000),
            usd: "4.5",
            id: Some("builtin:anthropic.claude-sonnet-4-6@1970-01-01"),
            ..case(
                "bare model on bedrock",
                "claude-sonnet-4-6",
                Some("aws.bedrock"),
            )
        },
        Case {
            // Vertex id with @date: $3 in, $15 out. 100,000 × 3/1e6 + 10,000 × 15/1e6 = 0.45
            usage: U::io(100_000, 10_000),
            usd: "0.45",
            id: Some("builtin:vertex_ai/claude-sonnet-4-5@20250929@1970-01-01"),
            ..case(
                "vertex @date id",
                "claude-sonnet-4-5@20250929",
                Some("gcp.vertex_ai"),
            )
        },
        Case {
            // Azure OpenAI: $2.50 in, $10 out. 2.5 + 1 = 3.5
            usage: U::io(1_000_000, 100_000),
            usd: "3.5",
            id: Some("builtin:azure/gpt-4o@1970-01-01"),
            ..case("azure", "gpt-4o", Some("azure.ai.openai"))
        },
        Case {
            // provider-prefixed id: same entry as claude-sonnet-4-6. 1,000 × 3/1e6 = 0.003
            usage: U::io(1_000, 0),
            usd: "0.003",
            id: Some("builtin:claude-sonnet-4-6@1970-01-01"),
            ..case("provider prefix", "anthropic/claude-sonnet-4-6", None)
        },
        Case {
            // dated id that exists: 1,000 × 3/1e6 = 0.003
            usage: U::io(1_000, 0),
            usd: "0.003",
            id: Some("builtin:claude-sonnet-4-5-20250929@1970-01-01"),
            ..case(
                "dated anthropic",
                "claude-sonnet-4-5-20250929",
                Some("anthropic"),
            )
        },
        Case {
            // dated id that exists: 1,000 × 2.5/1e6 = 0.0025
            usage: U::io(1_000, 0),
            usd: "0.0025",
            id: Some("builtin:gpt-4o-2024-08-06@1970-01-01"),
            ..case("dated openai", "gpt-4o-2024-08-06", Some("openai"))
        },
        Case {
            // unknown snapshot date falls back to the undated entry: 1,000 × 3/1e6 = 0.003
            usage: U::io(1_000, 0),
            usd: "0.003",
            id: Some("builtin:claude-sonnet-4-6@1970-01-01"),
            ..case(
                "unknown snapshot",
                "claude-sonnet-4-6-20991231",
                Some("anthropic"),
            )
        },
        Case {
            // dots for dashes (priced by a Claude 3.5 Sonnet entry, $3 in / $15 out):
            // 1,000,000 × 3/1e6 + 100,000 × 15/1e6 = 4.5
            usage: U::io(1_000_000, 100_000),
            usd: "4.5",
            ..case("dots", "claude-3.5-sonnet", Some("anthropic"))
        },
        Case {
            // -latest: same as above = 4.5
            usage: U::io(1_000_000, 100_000),
            usd: "4.5",
            ..case("latest", "claude-3-5-sonnet-latest", None)
        },
        Case {
            // mistral-large-latest: $0.50 in, $1.50 out. 0.5 + 0.15 = 0.65
            usage: U::io(1_000_000, 100_000),
            usd: "0.65",
            id: Some("builtin:mistral/mistral-large-latest@1970-01-01"),
            ..case("mistral", "mistral-large-latest", Some("mistral_ai"))
        },
        Case {
            // xAI grok-4.7: long-context prices from 200,000 prompt tokens inclusive: $4 in.
            // 200,000 × 4/1e6 = 0.8
            usage: U::io(200_000, 0),
            usd: "0.8",
            id: Some("builtin:xai/grok-4.7@1970-01-01"),
            ..case("xai inclusive threshold", "grok-4.7", Some("x_ai"))
        },
        Case {
            // one token below: $2 in. 199,999 × 2/1e6 = 0.399998
            usage: U::io(199_999, 0),
            usd: "0.399998",
            id: Some("builtin:xai/grok-4.7@1970-01-01"),
            ..case("xai below threshold", "grok-4.7", Some("x_ai"))
        },
        Case {
            // deepseek-chat: $0.28 in, $0.42 out, $0.028 cache hit.
            // uncached 600,000 × 0.28/1e6 = 0.168; cached 400,000 × 0.028/1e6 = 0.0112;
            // output 100,000 × 0.42/1e6 = 0.042; total 0.2212
            usage: U {
                input: 1_000_000,
                output: 100_000,
                cache_read: 400_000,
                ..U::default()
            },
            usd: "0.2212",
            ..case("deepseek cache hit", "deepseek-chat", Some("deepseek"))
        },
    ];
    for c in cases {
        let mut s = span(c.model, c.provider, c.usage);
        s.kind = c.kind;
        s.gen_ai.service_tier = c.tier.map(str::to_string);
        let (cost, id) = priced(book.price_span(&s));
        assert_eq!(cost, usd(c.usd), "{}: cost", c.name);
        match c.id {
            Some(want) => assert_eq!(id, want, "{}: price id", c.name),
            None => assert!(id.starts_with("builtin:"), "{}: {id}", c.name),
        }
    }
}

#[test]
fn bedrock_span_uses_a_bedrock_entry_for_a_dated_first_party_id() {
    let book = PriceBook::builtin().expect("builtin");
    let entry = book
        .lookup(Some("aws.bedrock"), "claude-sonnet-4-5-20250929", JAN_2026)
        .expect("priced");
    assert!(
        entry
            .provider
            .as_deref()
            .is_some_and(|p| p.starts_with("bedrock")),
        "{}",
        entry.id
    );
    let entry = book
        .lookup(Some("anthropic"), "claude-sonnet-4-5-20250929", JAN_2026)
        .expect("priced");
    assert_eq!(entry.provider.as_deref(), Some("anthropic"));
}

#[test]
fn response_model_first_then_request_model() {
    let book = PriceBook::builtin().expect("builtin");
    // Response model known: gpt-4o-mini $0.15 in → 1,000,000 × 0.15/1e6 = 0.15
    let mut s = span("gpt-4o-mini", Some("openai"), U::io(1_000_000, 0));
    s.gen_ai.request_model = Some("gpt-4o".into());
    assert_eq!(priced(book.price_span(&s)).0, usd("0.15"));
    // Response model unknown: the request model gpt-4o prices it, $2.50 → 2.5
    s.gen_ai.response_model = Some("my-deployment-7".into());
    assert_eq!(priced(book.price_span(&s)).0, usd("2.5"));
}

#[test]
fn unknown_and_not_applicable() {
    let book = PriceBook::builtin().expect("builtin");
    let s = span("acme-llm-9000", Some("openai"), U::io(100, 10));
    assert_eq!(book.price_span(&s), PriceOutcome::Unpriced);

    // No model at all, but usage: unpriced too.
    let mut s = span("x", None, U::io(100, 10));
    s.gen_ai.response_model = None;
    assert_eq!(book.price_span(&s), PriceOutcome::Unpriced);

    // Not a model call.
    let mut s = span("gpt-4o", Some("openai"), U::io(100, 10));
    s.kind = SpanKind::Tool;
    assert_eq!(book.price_span(&s), PriceOutcome::NotApplicable);

    // A model call without any usage.
    let mut s = span("gpt-4o", Some("openai"), U::io(0, 0));
    s.usage = Usage::default();
    assert_eq!(book.price_span(&s), PriceOutcome::NotApplicable);

    // Cached misses stay misses.
    let s = span("acme-llm-9000", Some("openai"), U::io(100, 10));
    assert_eq!(book.price_span(&s), PriceOutcome::Unpriced);
}

#[test]
fn apply_sets_computed_beside_reported_and_is_idempotent() {
    let book = PriceBook::builtin().expect("builtin");
    // gpt-4o: 1,000 × 2.5/1e6 + 100 × 10/1e6 = 0.0025 + 0.001 = 0.0035
    let mut s = span("gpt-4o", Some("openai"), U::io(1_000, 100));
    s.cost.reported = Some(usd("0.004"));
    apply(&book, &mut s);
    let want = SpanCost {
        computed: Some(usd("0.0035")),
        reported: Some(usd("0.004")),
        price_id: Some("builtin:gpt-4o@1970-01-01".into()),
        price_effective_from: Some("1970-01-01".into()),
        unpriced: false,
    };
    assert_eq!(s.cost, want);
    assert_eq!(s.cost.effective(), Some(usd("0.004")), "reported wins");
    apply(&book, &mut s);
    assert_eq!(s.cost, want, "idempotent");

    s.gen_ai.response_model = Some("acme-llm-9000".into());
    apply(&book, &mut s);
    assert_eq!(s.cost.computed, None);
    assert!(s.cost.unpriced);
    assert_eq!(s.cost.price_id, None);
    assert_eq!(s.cost.reported, Some(usd("0.004")));
}

const DATED_FILE: &str = r#"
version = 1

[[prices]]
model = "acme-chat"
effective_from = "2025-01-01"
input = "1"
output = "2"

[[prices]]
model = "acme-chat"
effective_from = "2025-06-01"
input = "2"
output = "4"

# gpt-4o got cheaper for us from 2025-06-01 (a negotiated rate)
[[prices]]
model = "gpt-4o"
effective_from = "2025-06-01"
input = 2.0
output = "8"
"#;

#[test]
fn price_change_on_a_date() {
    let book = PriceBook::builder()
        .builtin()
        .user_file(DATED_FILE, FileFormat::Toml)
        .build()
        .expect("book");
    let usage = U::io(1_000_000, 500_000);
    let price_at = |model: &str, date: &str| {
        let mut s = span(model, Some("openai"), usage);
        s.start_unix_nano = at(date) + 3_600 * 1_000_000_000;
        book.price_span(&s)
    };
    // before the first acme-chat entry: no price anywhere
    assert_eq!(price_at("acme-chat", "2024-12-31"), PriceOutcome::Unpriced);
    // 2025-03-01: $1 in, $2 out → 1,000,000 × 1/1e6 + 500,000 × 2/1e6 = 1 + 1 = 2
    assert_eq!(
        priced(price_at("acme-chat", "2025-03-01")),
        (usd("2"), "user:acme-chat@2025-01-01".to_string())
    );
    // 2025-05-31, last day of the old price: still 2
    assert_eq!(priced(price_at("acme-chat", "2025-05-31")).0, usd("2"));
    // 2025-06-01 on: $2 in, $4 out → 2 + 2 = 4
    assert_eq!(
        priced(price_at("acme-chat", "2025-06-01")),
        (usd("4"), "user:acme-chat@2025-06-01".to_string())
    );
    assert_eq!(priced(price_at("acme-chat", "2025-07-01")).0, usd("4"));

    // gpt-4o before the user entry: the built-in price, 1,000,000 × 2.5/1e6 + 500,000 × 10/1e6
    // = 2.5 + 5 = 7.5
    assert_eq!(
        priced(price_at("gpt-4o", "2025-05-31")),
        (usd("7.5"), "builtin:gpt-4o@1970-01-01".to_string())
    );
    // from 2025-06-01: 1,000,000 × 2/1e6 + 500,000 × 8/1e6 = 2 + 4 = 6
    let outcome = price_at("gpt-4o", "2025-06-01");
    assert_eq!(
        outcome,
        PriceOutcome::Priced {
            cost: usd("6"),
            price_id: "user:gpt-4o@2025-06-01".into(),
            effective_from: "2025-06-01".into(),
        }
    );
}

#[test]
fn project_override_beats_user_file_beats_builtin() {
    let user = r#"{"version": 1, "prices": [{"model": "gpt-4o", "input": "2", "output": "2"}]}"#;
    let mut project_entry = PriceEntry::new(
        "gpt-4o",
        llmtrace_pricing::Price::parse_per_million("1").expect("price"),
        llmtrace_pricing::Price::parse_per_million("1").expect("price"),
    );
    project_entry.effective_from = llmtrace_pricing::Day::parse("2025-01-01").expect("date");
    let book = PriceBook::builder()
        .builtin()
        .user_file(user, FileFormat::Json)
        .project_override("acme", vec![project_entry])
        .build()
        .expect("book");
    let builtin_only = PriceBook::builtin().expect("builtin");
    let usage = U::io(1_000_000, 1_000_000);

    // project acme: $1 + $1 = 2
    let mut s = span("gpt-4o", Some("openai"), usage);
    s.project = "acme".into();
    assert_eq!(
        priced(book.price_span(&s)),
        (usd("2"), "project:acme:gpt-4o@2025-01-01".to_string())
    );
    // another project: user file $2 + $2 = 4
    s.project = "other".into();
    assert_eq!(
        priced(book.price_span(&s)),
        (usd("4"), "user:gpt-4o@1970-01-01".to_string())
    );
    // built-in only: $2.50 + $10 = 12.5
    assert_eq!(
        priced(builtin_only.price_span(&s)),
        (usd("12.5"), "builtin:gpt-4o@1970-01-01".to_string())
    );
    // the project's override applies from 2025-01-01; before that the user file prices it
    s.project = "acme".into();
    s.start_unix_nano = at("2024-06-01");
    assert_eq!(priced(book.price_span(&s)).0, usd("4"));
    // A project's listing holds its own overrides and the shared tables, never another's.
    assert!(book
        .entries_for("acme")
        .any(|e| e.id.starts_with("project:acme:")));
    assert!(book.entries_for("other").all(|e| e.project.is_none()));
    assert_eq!(
        book.entries_for("other").count() + 1,
        book.entries().count(),
        "only acme's one override is left out"
    );
    // lookup_for_project agrees
    assert_eq!(
        book.lookup_for_project("acme", Some("openai"), "gpt-4o", JAN_2026)
            .map(|e| e.id.as_str()),
        Some("project:acme:gpt-4o@2025-01-01")
    );

    // entries(): precedence order, tagged with their source
    let sources: Vec<PriceSource> = book.entries().map(|e| e.source).collect();
    assert_eq!(&sources[..2], &[PriceSource::Project, PriceSource::User]);
    assert!(sources[2..].iter().all(|s| *s == PriceSource::Builtin));
}

#[test]
fn user_file_entries_with_a_project_are_that_projects_overrides() {
    let file = "version = 1\n\
        [[prices]]\nmodel = \"gpt-4o\"\ninput = \"2\"\noutput = \"2\"\n\
        [[prices]]\nmodel = \"gpt-4o\"\nproject = \"acme\"\ninput = \"1\"\noutput = \"1\"\n";
    let book = PriceBook::builder()
        .builtin()
        .user_file(file, FileFormat::Toml)
        .build()
        .expect("book");
    let mut s = span("gpt-4o", Some("openai"), U::io(1_000_000, 1_000_000));
    s.project = "acme".into();
    assert_eq!(
        priced(book.price_span(&s)),
        (usd("2"), "project:acme:gpt-4o@1970-01-01".to_string())
    );
    s.project = "other".into();
    assert_eq!(priced(book.price_span(&s)).0, usd("4"));
}

#[test]
fn a_user_price_for_one_cloud_does_not_price_another() {
    let user = r#"
[[prices]]
model = "gpt-4o"
provider = "azure"
input = "9"
output = "9"
"#;
    let book = PriceBook::builder()
        .builtin()
        .user_file(user, FileFormat::Toml)
        .build()
        .expect("book");
    // OpenAI span: built-in gpt-4o, 1,000,000 × 2.5/1e6 = 2.5
    let s = span("gpt-4o", Some("openai"), U::io(1_000_000, 0));
    assert_eq!(
        priced(book.price_span(&s)),
        (usd("2.5"), "builtin:gpt-4o@1970-01-01".to_string())
    );
    // Azure span: the user's Azure price, 1,000,000 × 9/1e6 = 9
    let s = span("gpt-4o", Some("azure.ai.openai"), U::io(1_000_000, 0));
    assert_eq!(
        priced(book.price_span(&s)),
        (usd("9"), "user:azure/gpt-4o@1970-01-01".to_string())
    );
}

#[test]
fn user_file_features() {
    let file = r#"
[[prices]]
model = "think-1"
input = "1"
output = "2"
reasoning = "10"
cache_write = "1.5"
batch = { input = "0.5" }

[[prices.context_tiers]]
above_input_tokens = 100000
input = "3"

[[prices]]
model = "embed-1"
mode = "embedding"
input = "0.1"
"#;
    let book = PriceBook::builder()
        .user_file(file, FileFormat::Toml)
        .build()
        .expect("book");
    // Reasoning priced apart; 100,000 prompt tokens is not above the 100,000 threshold:
    // input 100,000 × 1/1e6 = 0.1; output (1,000,000 − 600,000) × 2/1e6 = 0.8;
    // reasoning 600,000 × 10/1e6 = 6; total 6.9
    let s = span(
        "think-1",
        None,
        U {
            input: 100_000,
            output: 1_000_000,
            reasoning: 600_000,
            ..U::default()
        },
    );
    assert_eq!(priced(book.price_span(&s)).0, usd("6.9"));
    // above 100k: every input token at $3; output and reasoning keep their prices.
    // uncached 150,000 − 50,000 (cache write) = 100,000 × 3/1e6 = 0.3;
    // cache write 50,000 at the 5m price $1.50 → 0.075; output 0 → total 0.375
    let s = span(
        "think-1",
        None,
        U {
            input: 150_000,
            cache_write: 50_000,
            ..U::default()
        },
    );
    assert_eq!(priced(book.price_span(&s)).0, usd("0.375"));
    // batch: input $0.50, output falls back to the standard $2:
    // 10,000 × 0.5/1e6 + 1,000,000 × 2/1e6 = 0.005 + 2 = 2.005
    let mut s = span("think-1", None, U::io(10_000, 1_000_000));
    s.gen_ai.service_tier = Some("batch".into());
    assert_eq!(priced(book.price_span(&s)).0, usd("2.005"));
    // batch above 100k: the tier has no batch prices, so its standard input $3 wins over the
    // entry's batch input (context tier first, as LiteLLM resolves keys):
    // 200,000 × 3/1e6 + 0 output = 0.6
    let mut s = span("think-1", None, U::io(200_000, 0));
    s.gen_ai.service_tier = Some("batch".into());
    assert_eq!(priced(book.price_span(&s)).0, usd("0.6"));
    // embedding entry: input only, 2,000,000 × 0.1/1e6 = 0.2 (output tokens ignored)
    let s = span("embed-1", None, U::io(2_000_000, 999));
    assert_eq!(priced(book.price_span(&s)).0, usd("0.2"));
    let e = book
        .entries()
        .find(|e| e.model == "embed-1")
        .expect("entry");
    assert_eq!(e.mode, Mode::Embedding);
}

#[test]
fn user_file_errors() {
    let cases = [
        (
            "[[prices]]\nmodel = \"m\"\ninput = \"1\"\ncolour = \"red\"\n",
            "unknown field",
        ),
        (
            "[[prices]]\nmodel = \"m\"\noutput = \"1\"\n",
            "no input price",
        ),
        ("[[prices]]\nmodel = \"m\"\ninput = \"-1\"\n", "negative"),
        (
            "[[prices]]\nmodel = \"m\"\ninput = \"1\"\neffective_from = \"2025-02-30\"\n",
            "date",
        ),
        ("version = 2\n", "version"),
        (
            "[[prices]]\nmodel = \"m\"\ninput = \"1\"\n[[prices]]\nmodel = \"m\"\ninput = \"2\"\n",
            "duplicate",
        ),
    ];
    for (text, what) in cases {
        let err = parse_user_file(text, FileFormat::Toml).expect_err(what);
        let msg = err.to_string();
        assert!(!msg.is_empty(), "{what}");
    }
    assert!(matches!(
        PriceBook::builder()
            .user_file("version = 2", FileFormat::Toml)
            .build(),
        Err(PricingError::UnsupportedVersion(2))
    ));
}

const LITELLM_SNIPPET: &str = r#"{
  "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "doc"},
  "my-model": {
    "litellm_provider": "openai", "mode": "chat",
    "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
    "cache_read_input_token_cost": 3e-07,
    "cache_creation_input_token_cost": 3.75e-06,
    "cache_creation_input_token_cost_above_1hr": 6e-06,
    "input_cost_per_token_batches": 1.5e-06,
    "input_cost_per_token_above_200k_tokens": 6e-06,
    "output_cost_per_token_above_200k_tokens": 2.25e-05,
    "input_cost_per_token_above_200k_tokens_priority": 1.2e-05,
    "input_cost_per_token_priority": 0.000006,
    "supports_vision": true,
    "search_context_cost_per_query": {"search_context_size_low": 0.01}
  },
  "qwen-think": {
    "litellm_provider": "dashscope",
    "input_cost_per_token": 5e-07, "output_cost_per_token": 2e-07,
    "output_cost_per_reasoning_token": 5e-06
  },
  "dall-e-x": {"litellm_provider": "openai", "mode": "image_generation", "input_cost_per_token": 1e-06},
  "per-second": {"litellm_provider": "x", "mode": "chat", "input_cost_per_second": 0.001},
  "my-model-latest-alias": {"alias_of": "my-model"},
  "deepseek-x": {
    "litellm_provider": "deepseek", "mode": "chat",
    "input_cost_per_token": 2.8e-07, "input_cost_per_token_cache_hit": 2.8e-08,
    "output_cost_per_token": "4.2e-07"
  }
}"#;

#[test]
fn litellm_import_round_trip() {
    let entries = import_litellm(LITELLM_SNIPPET).expect("import");
    let models: Vec<&str> = entries.iter().map(|e| e.model.as_str()).collect();
    assert_eq!(
        models,
        [
            "my-model",
            "qwen-think",
            "my-model-latest-alias",
            "deepseek-x"
        ]
    );
    let m = &entries[0];
    assert_eq!(m.id, "user:openai/my-model@1970-01-01");
    let s = |p: Option<llmtrace_pricing::Price>| p.map(|p| p.to_per_million_string());
    assert_eq!(s(m.rates.standard.input).as_deref(), Some("3"));
    assert_eq!(s(m.rates.standard.cache_write_1h).as_deref(), Some("6"));
    assert_eq!(
        s(m.rates.batch.as_ref().and_then(|b| b.input)).as_deref(),
        Some("1.5")
    );
    assert_eq!(m.context_tiers.len(), 1);
    assert_eq!(m.context_tiers[0].above_input_tokens, 200_000);
    assert_eq!(
        s(m.context_tiers[0]
            .rates
            .priority
            .as_ref()
            .and_then(|p| p.input))
        .as_deref(),
        Some("12")
    );
    assert_eq!(
        s(entries[3].rates.standard.cache_read).as_deref(),
        Some("0.028")
    );
    assert_eq!(s(entries[3].rates.standard.output).as_deref(), Some("0.42"));
    assert_eq!(entries[2].rates, m.rates, "alias takes its target's prices");

    // LiteLLM → user TOML file → entries: identical.
    let toml_text = to_user_file(&entries);
    assert!(toml_text.starts_with("# llmtrace price file"));
    let back = parse_user_file(&toml_text, FileFormat::Toml).expect("reparse toml");
    assert_eq!(back, entries);
    let json_text = to_user_file_as(&entries, FileFormat::Json).expect("json");
    let back = parse_user_file(&json_text, FileFormat::Json).expect("reparse json");
    assert_eq!(back, entries);

    // Reasoning priced apart, via the imported file:
    // 1,000,000 × 0.5/1e6 = 0.5 + (1,000,000 − 800,000) × 0.2/1e6 = 0.04
    //   + 800,000 × 5/1e6 = 4 → 4.54
    let book = PriceBook::builder()
        .user_file(&toml_text, FileFormat::Toml)
        .build()
        .expect("book");
    let s = span(
        "qwen-think",
        None,
        U {
            input: 1_000_000,
            output: 1_000_000,
            reasoning: 800_000,
            ..U::default()
        },
    );
    assert_eq!(priced(book.price_span(&s)).0, usd("4.54"));
    // my-model, priority, above 200k: input at the tier's priority price $12; the tier has no
    // priority output price, so the tier's standard output price $22.50 applies.
    // 300,000 × 12/1e6 = 3.6; 10,000 × 22.5/1e6 = 0.225; total 3.825
    let mut s = span("my-model", Some("openai"), U::io(300_000, 10_000));
    s.gen_ai.service_tier = Some("priority".into());
    assert_eq!(priced(book.price_span(&s)).0, usd("3.825"));
}

#[test]
fn builtin_table_has_the_required_models() {
    let entries = builtin_entries().expect("builtin");
    let must_have = [
        // Anthropic
        "claude-sonnet-4-6",
        "claude-haiku-4-5",
        "claude-opus-4-7",
        "claude-sonnet-4-5-20250929",
        // OpenAI
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "o3",
        "text-embedding-3-small",
        "text-embedding-3-large",
        // Google
        "gemini/gemini-2.5-pro",
        "gemini/gemini-2.5-flash",
        "gemini-2.5-pro",
        "gemini-embedding-001",
        // Mistral
        "mistral/mistral-large-latest",
        "mistral/mistral-embed",
        // Cohere
        "command-r-plus-08-2024",
        "embed-english-v3.0",
        // DeepSeek
        "deepseek-chat",
        // xAI
        "xai/grok-4.7",
        // Bedrock, Vertex, Azure ids of the same models
        "anthropic.claude-sonnet-4-6",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "vertex_ai/claude-sonnet-4-5",
        "vertex_ai/claude-sonnet-4-5@20250929",
        "azure/gpt-4o",
        "azure/o3",
        "azure_ai/claude-sonnet-4-6",
    ];
    for m in must_have {
        assert!(entries.iter().any(|e| e.model == m), "missing {m}");
    }
    let providers: std::collections::BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| e.provider.as_deref())
        .collect();
    for p in [
        "anthropic",
        "openai",
        "gemini",
        "vertex_ai-language-models",
        "vertex_ai-anthropic_models",
        "mistral",
        "cohere",
        "cohere_chat",
        "deepseek",
        "xai",
        "bedrock",
        "bedrock_converse",
        "azure",
    ] {
        assert!(providers.contains(p), "no {p} entries");
    }
    assert!(entries.iter().all(|e| e.source == PriceSource::Builtin
        && e.effective_from == llmtrace_pricing::Day::EPOCH
        && e.id.starts_with("builtin:")));
    assert!(entries.iter().any(|e| e.mode == Mode::Embedding));
}

#[test]
fn entries_serialize_for_the_api() {
    let book = PriceBook::builtin().expect("builtin");
    let e = book
        .entries()
        .find(|e| e.model == "claude-sonnet-4-6")
        .expect("entry");
    let v = serde_json::to_value(e).expect("json");
    assert_eq!(v["id"], "builtin:claude-sonnet-4-6@1970-01-01");
    assert_eq!(v["source"], "builtin");
    assert_eq!(v["effective_from"], "1970-01-01");
    assert_eq!(v["mode"], "chat");
    assert_eq!(v["input"], "3");
    assert_eq!(v["output"], "15");
    assert_eq!(v["cache_read"], "0.3");
    assert_eq!(v["cache_write_5m"], "3.75");
    assert_eq!(v["cache_write_1h"], "6");
    assert_eq!(v["batch"]["input"], "1.5");
    let back: PriceEntry = serde_json::from_value(v).expect("deserialize");
    assert_eq!(&back, e);
}

#[test]
fn price_book_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PriceBook>();
    let book = std::sync::Arc::new(PriceBook::builtin().expect("builtin"));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let book = book.clone();
            std::thread::spawn(move || {
                let s = span("gpt-4o", Some("openai"), U::io(1_000, 0));
                priced(book.price_span(&s)).0
            })
        })
        .collect();
    for h in handles {
        // 1,000 × 2.5/1e6 = 0.0025
        assert_eq!(h.join().expect("thread"), usd("0.0025"));
    }
}

#[test]
fn generated_table_matches_the_litellm_file() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/litellm_model_prices.json");
    let Ok(litellm) = std::fs::read_to_string(&path) else {
        println!(
            "skipped: {} not present, cannot check data/default_prices.json",
            path.display()
        );
        return;
    };
    let generated = llmtrace_pricing::generate_default_table(&litellm).expect("generate");
    let committed = include_str!("../data/default_prices.json");
    assert!(
        generated == committed,
        "data/default_prices.json is stale: run `cargo run -p llmtrace-pricing --bin gen-default-prices`"
    );
}
