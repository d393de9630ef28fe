//! Hand-written text fragments the generators assemble into prompts, retrieved
//! context, completions and tool payloads. Each [`Topic`] is internally
//! coherent (question, context passages and answer sentences talk about the
//! same thing) so a newcomer reading a demo trace sees a plausible conversation.

/// One question/answer topic.
pub(crate) struct Topic {
    /// Ways a user may phrase the question.
    pub(crate) questions: &'static [&'static str],
    /// Passages a retriever could return for the question (`(document id, text)`).
    pub(crate) passages: &'static [(&'static str, &'static str)],
    /// Sentences an assistant answer is assembled from (in order).
    pub(crate) answer: &'static [&'static str],
}

/// System prompts of the documentation RAG service.
pub(crate) const DOCS_SYSTEM: &[&str] = &[
    "You are the documentation assistant for Acme Cloud. Answer only from the provided context. \
     Cite passages as [n]. If the context does not contain the answer, say so and suggest where to look.",
    "You answer developer questions about the Acme Cloud API. Use the numbered context passages, quote \
     exact setting names, and keep answers under 120 words.",
];

/// Documentation topics (search-api, loadgen RAG traffic).
pub(crate) const DOCS: &[Topic] = &[
    Topic {
        questions: &[
            "How do I rotate an API key without downtime?",
            "what's the safest way to rotate api keys in production",
        ],
        passages: &[
            ("docs/security/api-keys.md#rotation", "Each project can hold two active API keys. Create the new key, deploy it to every client, then revoke the old key from Settings > API Keys. Revocation takes effect within 60 seconds."),
            ("docs/security/api-keys.md#scopes", "Keys can be scoped to read-only or read-write. A scoped key cannot be upgraded; create a new key with the wider scope instead."),
            ("docs/cli/keys.md", "The CLI command `acme keys create --name ci-2026` prints the secret once. Store it in your secret manager; it cannot be shown again."),
        ],
        answer: &[
            "Rotate in two steps so there is never a moment without a valid key [1].",
            "First create a second key (for example with `acme keys create --name ci-2026` [3]) and roll it out to every client.",
            "Once all traffic uses the new key, revoke the old one under Settings > API Keys; revocation applies within about 60 seconds [1].",
            "If the old key was scoped, create the new one with the same scope, since scopes cannot be changed later [2].",
        ],
    },
    Topic {
        questions: &[
            "Why am I getting 429 errors from the ingest endpoint?",
            "ingest api returns too many requests, what are the limits?",
        ],
        passages: &[
            ("docs/limits.md#ingest", "The ingest endpoint accepts 500 requests per second per project and 10 MB per request. Requests above the limit receive HTTP 429 with a Retry-After header."),
            ("docs/sdk/batching.md", "The SDK batches events every 5 seconds or every 512 events, whichever comes first. Increase `max_batch_size` to reduce request count."),
            ("docs/limits.md#burst", "Short bursts up to 2x the limit are tolerated for 10 seconds before throttling starts."),
        ],
        answer: &[
            "A 429 means the project exceeded the ingest limit of 500 requests per second [1].",
            "Bursts up to twice that rate are tolerated only for about 10 seconds [3].",
            "The usual fix is to send fewer, larger requests: raise `max_batch_size` in the SDK so each request carries more events [2].",
            "Always honour the Retry-After header when you do get throttled [1].",
        ],
    },
    Topic {
        questions: &[
            "Can I export my data to S3 every night?",
            "how to set up scheduled export to an s3 bucket",
        ],
        passages: &[
            ("docs/export/s3.md#setup", "Scheduled exports write Parquet files to an S3 bucket you own. Grant the Acme export role `s3:PutObject` on the target prefix and enter the bucket ARN under Settings > Exports."),
            ("docs/export/s3.md#schedule", "Exports run daily at 02:00 UTC by default. Hourly exports are available on the Business plan."),
            ("docs/export/formats.md", "Supported formats are Parquet (default) and newline-delimited JSON. Files are partitioned by date."),
        ],
        answer: &[
            "Yes. Scheduled exports write date-partitioned Parquet files to your own S3 bucket [1][3].",
            "Grant the Acme export role `s3:PutObject` on the prefix, then add the bucket ARN under Settings > Exports [1].",
            "The default schedule is daily at 02:00 UTC, which matches a nightly export [2].",
        ],
    },
    Topic {
        questions: &[
            "How do webhooks retry when my endpoint is down?",
            "webhook delivery retry policy?",
        ],
        passages: &[
            ("docs/webhooks.md#retries", "Failed webhook deliveries are retried with exponential backoff for up to 24 hours: after 1 minute, 5 minutes, 30 minutes, then hourly."),
            ("docs/webhooks.md#signing", "Every delivery carries an `Acme-Signature` header, an HMAC-SHA256 of the body with your endpoint secret."),
            ("docs/webhooks.md#disable", "Endpoints that fail continuously for 3 days are disabled and the project owner is emailed."),
        ],
        answer: &[
            "Deliveries that fail are retried with exponential backoff for up to 24 hours: after 1 minute, 5 minutes, 30 minutes and then hourly [1].",
            "If the endpoint keeps failing for 3 days it is disabled and the project owner gets an email [3].",
            "Make the handler idempotent, because a retried delivery can arrive after a slow success.",
        ],
    },
    Topic {
        questions: &[
            "Which regions can I deploy to?",
            "is there an EU region for data residency",
        ],
        passages: &[
            ("docs/regions.md", "Projects can be created in us-east-1, eu-west-1 and ap-southeast-2. The region is fixed at creation time."),
            ("docs/compliance/gdpr.md", "Projects in eu-west-1 store and process all customer data inside the EU, including backups."),
            ("docs/regions.md#migrate", "To move a project to another region, export the data, create a new project in the target region and re-import."),
        ],
        answer: &[
            "You can choose us-east-1, eu-west-1 or ap-southeast-2 when creating a project [1].",
            "For EU data residency pick eu-west-1: data and backups stay inside the EU [2].",
            "The region cannot be changed later; moving means exporting and re-importing into a new project [3].",
        ],
    },
    Topic {
        questions: &[
            "How do I paginate the list events endpoint?",
            "list endpoint only returns 100 items, how to get the rest",
        ],
        passages: &[
            ("docs/api/pagination.md", "List endpoints return at most 100 items and a `next_cursor` field. Pass it as `?cursor=` to fetch the next page; an empty cursor means the end."),
            ("docs/api/events.md#list", "GET /v1/events supports `since`, `until` and `limit` (1-100) query parameters. Results are ordered by timestamp descending."),
        ],
        answer: &[
            "List endpoints are cursor-paginated and return at most 100 items per page [1].",
            "Read `next_cursor` from each response and pass it back as `?cursor=` until it comes back empty [1].",
            "You can also narrow the window with `since` and `until` on GET /v1/events [2].",
        ],
    },
];

/// System prompts of the customer-support bot.
pub(crate) const SUPPORT_SYSTEM: &[&str] = &[
    "You are Acme's friendly support assistant. Be concise, never promise refunds you cannot issue, \
     and offer to open a ticket when the customer needs a human.",
];

/// Customer-support topics (support-bot).
pub(crate) const SUPPORT: &[Topic] = &[
    Topic {
        questions: &[
            "Hi, I was charged twice for my March invoice. Can you help?",
            "there are two charges on my card for the same invoice",
        ],
        passages: &[
            ("kb/billing/duplicate-charge", "Duplicate charges are usually a pending authorization that drops off within 5 business days. Confirmed duplicates are refunded by the billing team."),
            ("kb/billing/invoices", "Invoices can be downloaded from Billing > History. Each invoice lists the payment reference."),
        ],
        answer: &[
            "Sorry about that! Often the second charge is only a pending authorization, which disappears within 5 business days.",
            "You can compare the payment references on the invoice under Billing > History.",
            "If both charges are settled, I can open a ticket so the billing team refunds the duplicate. Shall I do that?",
        ],
    },
    Topic {
        questions: &[
            "How do I change the email address on my account?",
            "need to update my login email",
        ],
        passages: &[
            ("kb/account/email", "Users can change their email under Profile > Account. A confirmation link is sent to the new address and expires after 24 hours."),
            ("kb/account/sso", "Accounts managed by SSO must change their email in the identity provider."),
        ],
        answer: &[
            "Go to Profile > Account and enter the new address.",
            "We send a confirmation link there; it is valid for 24 hours.",
            "If your company signs you in with SSO, the change has to be made in your identity provider instead.",
        ],
    },
    Topic {
        questions: &[
            "My order still hasn't shipped, it's been a week",
            "where is my order #48213?",
        ],
        passages: &[
            ("kb/orders/shipping-times", "Standard orders ship within 3 business days. Backordered items show an estimated ship date on the order page."),
            ("kb/orders/tracking", "A tracking link is emailed when the parcel leaves the warehouse."),
        ],
        answer: &[
            "Thanks for your patience. Standard orders normally ship within 3 business days, so a week is longer than expected.",
            "Let me look the order up to check whether an item is backordered.",
            "As soon as it leaves the warehouse you will get a tracking link by email.",
        ],
    },
    Topic {
        questions: &[
            "Can I downgrade from Business to Team in the middle of the month?",
            "how does downgrading my plan work",
        ],
        passages: &[
            ("kb/billing/plan-changes", "Downgrades take effect at the end of the current billing period. Unused time is not prorated for downgrades."),
            ("kb/billing/features", "Team plans keep 30 days of history; Business keeps 400 days."),
        ],
        answer: &[
            "Yes, you can schedule the downgrade now; it takes effect at the end of the current billing period.",
            "Note that downgrades are not prorated, and Team keeps 30 days of history instead of 400.",
            "Export anything older than 30 days first if you need it.",
        ],
    },
];

/// System prompts of the research agent.
pub(crate) const RESEARCH_SYSTEM: &[&str] = &[
    "You are a research agent. Plan briefly, call `web_search` or `fetch_page` to gather sources, and \
     finish with a short, sourced summary. Never invent citations.",
];

/// Research topics (research-agent). Passages double as tool results.
pub(crate) const RESEARCH: &[Topic] = &[
    Topic {
        questions: &[
            "Summarize current techniques for reducing LLM inference cost.",
            "what are the main ways teams cut LLM serving costs?",
        ],
        passages: &[
            ("https://example.org/blog/prompt-caching", "Prompt caching reuses the processed prefix of a prompt across requests; providers bill cached input tokens at roughly 10% of the normal price."),
            ("https://example.org/papers/speculative-decoding", "Speculative decoding lets a small draft model propose tokens that the large model verifies in parallel, cutting latency by 2-3x."),
            ("https://example.org/blog/model-routing", "Routing easy requests to a smaller model and escalating hard ones cut cost by 40% in a production case study."),
        ],
        answer: &[
            "Three techniques dominate.",
            "Prompt caching reuses long shared prefixes, and cached input is billed at about a tenth of the normal price.",
            "Model routing sends easy requests to a small model; one case study reports 40% savings.",
            "Speculative decoding mainly reduces latency (2-3x) but also improves hardware utilization.",
        ],
    },
    Topic {
        questions: &[
            "Compare vector databases for a 50M-document RAG workload.",
            "which vector db should we use for ~50 million docs",
        ],
        passages: &[
            ("https://example.org/benchmarks/ann-2026", "At 50M vectors, HNSW-based engines reached 95% recall at under 20 ms p99, but needed about 3x the RAM of IVF-PQ indexes."),
            ("https://example.org/blog/pgvector-scale", "pgvector with HNSW handled 10M rows comfortably; beyond that, teams reported long index builds and vacuum pressure."),
            ("https://example.org/docs/hybrid-search", "Hybrid search combining BM25 and dense vectors improved answer accuracy by 8 points on enterprise documents."),
        ],
        answer: &[
            "For 50M documents the main trade-off is memory versus recall.",
            "HNSW engines give the best recall at low latency but need roughly three times the RAM of IVF-PQ.",
            "pgvector is convenient up to about 10M rows, after which index builds become painful.",
            "Whatever you pick, add BM25 for hybrid search; it added 8 points of accuracy in one study.",
        ],
    },
    Topic {
        questions: &[
            "What changed in the EU AI Act obligations for general-purpose models this year?",
            "gpai obligations under the AI act, short summary",
        ],
        passages: &[
            ("https://example.org/policy/ai-act-gpai", "Providers of general-purpose AI models must publish a summary of training content and keep technical documentation for authorities."),
            ("https://example.org/policy/ai-act-systemic", "Models with systemic risk additionally need adversarial testing, incident reporting and cybersecurity measures."),
        ],
        answer: &[
            "All general-purpose model providers must keep technical documentation and publish a summary of their training content.",
            "Models classified as systemic-risk carry extra duties: adversarial testing, serious-incident reporting and cybersecurity safeguards.",
        ],
    },
];

/// Tools a RAG service may call after answering (name, arguments JSON, result).
pub(crate) const RAG_TOOLS: &[(&str, &str, &str)] = &[
    (
        "log_feedback",
        r#"{"rating":"helpful","channel":"web"}"#,
        r#"{"ok":true}"#,
    ),
    (
        "create_ticket",
        r#"{"priority":"normal","queue":"docs"}"#,
        r#"{"ticket_id":"T-20931","status":"open"}"#,
    ),
    (
        "send_followup_email",
        r#"{"template":"answer_summary"}"#,
        r#"{"queued":true}"#,
    ),
    (
        "lookup_order",
        r#"{"order_id":"48213"}"#,
        r#"{"status":"backordered","eta":"2026-12-04"}"#,
    ),
];

/// Rerank models (provider, model).
pub(crate) const RERANKERS: &[(&str, &str)] =
    &[("cohere", "rerank-v3.5"), ("cohere", "rerank-english-v3.0")];

/// Retrieval data sources.
pub(crate) const DATA_SOURCES: &[&str] = &["acme-docs-v7", "acme-docs-v8", "kb-support-articles"];
