//! Value alias maps (reference §5.3): raw provider names and finish reasons → canonical OTel values.

use std::borrow::Cow;

/// Raw provider names (lowercase) → canonical `gen_ai.provider.name` values.
const PROVIDERS: &[(&str, &str)] = &[
    ("openai", "openai"),
    ("anthropic", "anthropic"),
    ("aws.bedrock", "aws.bedrock"),
    ("aws", "aws.bedrock"),
    ("bedrock", "aws.bedrock"),
    ("amazon-bedrock", "aws.bedrock"),
    ("amazon_bedrock", "aws.bedrock"),
    ("azure.ai.openai", "azure.ai.openai"),
    ("az.ai.openai", "azure.ai.openai"),
    ("azure", "azure.ai.openai"),
    ("azure-openai", "azure.ai.openai"),
    ("azure_openai", "azure.ai.openai"),
    ("azure.ai.inference", "azure.ai.inference"),
    ("az.ai.inference", "azure.ai.inference"),
    ("gcp.vertex_ai", "gcp.vertex_ai"),
    ("vertex_ai", "gcp.vertex_ai"),
    ("vertexai", "gcp.vertex_ai"),
    ("google-vertex", "gcp.vertex_ai"),
    ("google-cloud", "gcp.vertex_ai"),
    ("google.vertex", "gcp.vertex_ai"),
    ("gcp.gemini", "gcp.gemini"),
    ("gemini", "gcp.gemini"),
    ("google-gla", "gcp.gemini"),
    ("google.generative-ai", "gcp.gemini"),
    ("gcp.gen_ai", "gcp.gen_ai"),
    ("google", "gcp.gen_ai"),
    ("x_ai", "x_ai"),
    ("xai", "x_ai"),
    ("mistral_ai", "mistral_ai"),
    ("mistralai", "mistral_ai"),
    ("mistral", "mistral_ai"),
    ("ibm.watsonx.ai", "ibm.watsonx.ai"),
    ("watsonx", "ibm.watsonx.ai"),
    ("cohere", "cohere"),
    ("groq", "groq"),
    ("deepseek", "deepseek"),
    ("perplexity", "perplexity"),
    ("moonshot", "moonshot_ai"),
    ("moonshot_ai", "moonshot_ai"),
    ("moonshotai", "moonshot_ai"),
];

/// Vendor ids that may prefix a dotted provider id (Vercel AI SDK writes `openai.chat`,
/// `anthropic.messages`, `google.vertex.chat` into `gen_ai.system`). Generic words such as `aws`,
/// `azure` or `gcp` are deliberately absent: `aws.sagemaker` is not Bedrock.
const PREFIX_VENDORS: &[&str] = &[
    "openai",
    "anthropic",
    "azure-openai",
    "amazon-bedrock",
    "bedrock",
    "google.vertex",
    "google.generative-ai",
    "google",
    "mistral",
    "groq",
    "xai",
    "deepseek",
    "cohere",
    "perplexity",
    "moonshotai",
];

/// Framework names some instrumentations put in the provider field; they say nothing about the
/// model vendor, so the provider is left for other hints to decide.
const FRAMEWORKS: &[&str] = &["langchain", "crewai"];

fn lookup(lower: &str) -> Option<&'static str> {
    PROVIDERS
        .iter()
        .find(|(raw, _)| *raw == lower)
        .map(|(_, canonical)| *canonical)
}

/// The canonical provider for a raw provider value, matched case-insensitively.
///
/// Known aliases map to their OTel value (`xai` → `x_ai`, `az.ai.openai` → `azure.ai.openai`,
/// `Anthropic` → `anthropic`, `vertex_ai` → `gcp.vertex_ai`, Vercel `openai.chat` → `openai`);
/// unknown values are kept, lowercased; blank values and framework names (`langchain`, `crewai`)
/// give `None`.
pub fn canonical_provider(raw: &str) -> Option<Cow<'static, str>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let lower: Cow<'_, str> = if raw.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(raw.to_ascii_lowercase())
    } else {
        Cow::Borrowed(raw)
    };
    if let Some(c) = lookup(&lower) {
        return Some(Cow::Borrowed(c));
    }
    if FRAMEWORKS.contains(&lower.as_ref()) {
        return None;
    }
    // Dotted vendor ids: try the longest known vendor prefix ending at a '.'.
    for (i, _) in lower.rmatch_indices('.') {
        let Some(prefix) = lower.get(..i) else {
            continue;
        };
        if PREFIX_VENDORS.contains(&prefix) {
            if let Some(c) = lookup(prefix) {
                return Some(Cow::Borrowed(c));
            }
        }
    }
    Some(Cow::Owned(lower.into_owned()))
}

/// Provider API hosts (`server.address`) → canonical provider; a leading `*` matches any
/// subdomain prefix.
const PROVIDER_HOSTS: &[(&str, &str)] = &[
    ("api.openai.com", "openai"),
    ("*.openai.azure.com", "azure.ai.openai"),
    ("*.services.ai.azure.com", "azure.ai.inference"),
    ("*.inference.ai.azure.com", "azure.ai.inference"),
    ("*.models.ai.azure.com", "azure.ai.inference"),
    ("api.anthropic.com", "anthropic"),
    ("*bedrock-runtime.*", "aws.bedrock"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("*aiplatform.googleapis.com", "gcp.vertex_ai"),
    ("api.x.ai", "x_ai"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.groq.com", "groq"),
    ("api.deepseek.com", "deepseek"),
    ("api.cohere.com", "cohere"),
    ("api.cohere.ai", "cohere"),
    ("api.perplexity.ai", "perplexity"),
    ("api.moonshot.ai", "moonshot_ai"),
    ("api.moonshot.cn", "moonshot_ai"),
];

/// The provider a well-known API host (`server.address`) implies, matched case-insensitively.
pub fn provider_for_host(host: &str) -> Option<&'static str> {
    let host = host.trim().trim_end_matches('.');
    PROVIDER_HOSTS.iter().find_map(|(pattern, provider)| {
        let hit = match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
            // `*bedrock-runtime.*`: contains.
            (Some(p), Some(_)) => {
                let needle = p.strip_suffix('*').unwrap_or(p);
                host.to_ascii_lowercase().contains(needle)
            }
            (Some(suffix), None) => host
                .len()
                .checked_sub(suffix.len())
                .and_then(|at| host.get(at..))
                .is_some_and(|h| h.eq_ignore_ascii_case(suffix)),
            _ => host.eq_ignore_ascii_case(pattern),
        };
        hit.then_some(*provider)
    })
}

/// Raw finish reasons (lowercase) → OTel values (`stop|length|tool_call|content_filter|error`).
const FINISH_REASONS: &[(&str, &str)] = &[
    ("stop", "stop"),
    ("end_turn", "stop"),
    ("stop_sequence", "stop"),
    ("length", "length"),
    ("max_tokens", "length"),
    ("max_output_tokens", "length"),
    ("model_context_window_exceeded", "length"),
    ("tool_call", "tool_call"),
    ("tool_calls", "tool_call"),
    ("function_call", "tool_call"),
    ("tool_use", "tool_call"),
    ("tool-calls", "tool_call"),
    ("content_filter", "content_filter"),
    ("content-filter", "content_filter"),
    ("refusal", "content_filter"),
    ("safety", "content_filter"),
    ("recitation", "content_filter"),
    ("blocklist", "content_filter"),
    ("prohibited_content", "content_filter"),
    ("spii", "content_filter"),
    ("image_safety", "content_filter"),
    ("error", "error"),
];

/// The OTel finish reason for a raw one (OpenAI, Anthropic, Vercel, Gemini spellings), lowercased;
/// unknown reasons (`pause_turn`, `other`) are kept, lowercased. `None` for a blank value.
pub fn canonical_finish_reason(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let lower: Cow<'_, str> = if raw.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(raw.to_ascii_lowercase())
    } else {
        Cow::Borrowed(raw)
    };
    Some(
        FINISH_REASONS
            .iter()
            .find(|(r, _)| *r == lower)
            .map_or_else(|| lower.into_owned(), |(_, c)| (*c).to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> Option<String> {
        canonical_provider(raw).map(Cow::into_owned)
    }

    #[test]
    fn provider_aliases() {
        assert_eq!(p("xai").as_deref(), Some("x_ai"));
        assert_eq!(p("az.ai.openai").as_deref(), Some("azure.ai.openai"));
        assert_eq!(p("Anthropic").as_deref(), Some("anthropic"));
        assert_eq!(p("vertex_ai").as_deref(), Some("gcp.vertex_ai"));
        assert_eq!(p("AWS").as_deref(), Some("aws.bedrock"));
        assert_eq!(p("MistralAI").as_deref(), Some("mistral_ai"));
        assert_eq!(p("openai.chat").as_deref(), Some("openai"));
        assert_eq!(p("anthropic.messages").as_deref(), Some("anthropic"));
        assert_eq!(p("google.vertex.chat").as_deref(), Some("gcp.vertex_ai"));
        assert_eq!(p("azure-openai.chat").as_deref(), Some("azure.ai.openai"));
        assert_eq!(p("aws.sagemaker").as_deref(), Some("aws.sagemaker"));
        assert_eq!(p("OpenRouter").as_deref(), Some("openrouter"));
        assert_eq!(p("Langchain"), None);
        assert_eq!(p("  "), None);
    }

    #[test]
    fn provider_hosts() {
        assert_eq!(provider_for_host("api.openai.com"), Some("openai"));
        assert_eq!(provider_for_host("API.Anthropic.com"), Some("anthropic"));
        assert_eq!(
            provider_for_host("myres.openai.azure.com"),
            Some("azure.ai.openai")
        );
        assert_eq!(
            provider_for_host("bedrock-runtime.us-east-1.amazonaws.com"),
            Some("aws.bedrock")
        );
        assert_eq!(
            provider_for_host("us-central1-aiplatform.googleapis.com"),
            Some("gcp.vertex_ai")
        );
        assert_eq!(
            provider_for_host("aiplatform.googleapis.com"),
            Some("gcp.vertex_ai")
        );
        assert_eq!(provider_for_host("openai.azure.com"), None);
        assert_eq!(provider_for_host("localhost"), None);
    }

    #[test]
    fn finish_reasons() {
        let f = |s| canonical_finish_reason(s);
        assert_eq!(f("end_turn").as_deref(), Some("stop"));
        assert_eq!(f("tool_use").as_deref(), Some("tool_call"));
        assert_eq!(f("tool_calls").as_deref(), Some("tool_call"));
        assert_eq!(f("max_tokens").as_deref(), Some("length"));
        assert_eq!(f("SAFETY").as_deref(), Some("content_filter"));
        assert_eq!(f("STOP").as_deref(), Some("stop"));
        assert_eq!(f("content-filter").as_deref(), Some("content_filter"));
        assert_eq!(f("pause_turn").as_deref(), Some("pause_turn"));
        assert_eq!(f("Other").as_deref(), Some("other"));
        assert_eq!(f(""), None);
    }
}
