//! API query parameters, as received, and their validation into store queries.

use crate::{parse_rfc3339, QueryError};
use llmtrace_model::Money;
use llmtrace_store::{
    GroupBy, ScoreFilter, StatsQuery, TraceCursor, TraceGroupBy, TraceGroupQuery, TraceQuery,
    TraceSort, MAX_PAGE_SIZE,
};
use serde::Deserialize;

/// Parameters of `GET /api/traces` (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TraceListParams {
    /// Service filter.
    pub service: Option<String>,
    /// Model filter.
    pub model: Option<String>,
    /// Provider filter.
    pub provider: Option<String>,
    /// `error` for traces with errors only.
    pub status: Option<String>,
    /// User filter.
    pub user_id: Option<String>,
    /// Session filter.
    pub session_id: Option<String>,
    /// RFC 3339 lower bound of the trace start.
    pub since: Option<String>,
    /// RFC 3339 upper bound (exclusive) of the trace start.
    pub until: Option<String>,
    /// Minimum duration in milliseconds.
    pub min_duration_ms: Option<f64>,
    /// Minimum cost in USD (decimal, e.g. `0.05`).
    pub min_cost: Option<String>,
    /// Full-text search over prompts and completions: traces with a span containing every word
    /// (word starts; any script, Chinese too).
    pub q: Option<String>,
    /// `time` (default, newest first), `cost` (costliest first) or `duration` (longest first).
    pub sort: Option<String>,
    /// Page size (default 50, at most 500).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Score filters, the `score.*` parameters as received (name, value): `score.NAME=LABEL`
    /// (or empty: any score of that name), `score.NAME.min=X`, `score.NAME.max=X`. Not read by
    /// serde (the keys are open-ended): the transport fills it with [`score_params`].
    #[serde(skip)]
    pub scores: Vec<(String, String)>,
    /// Only traces without a score of this name (an annotation queue).
    pub without_score: Option<String>,
}

/// The `score.*` parameters of a raw query string, decoded, in order.
pub fn score_params(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(k)?;
            k.starts_with("score.")
                .then(|| Some((k, percent_decode(v)?)))?
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding of one key or value (`+` is a space); `None`
/// when it is not valid UTF-8 or a `%` escape is broken.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push(u8::try_from(hi.checked_mul(16)?.checked_add(lo)?).ok()?);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

/// Most score filters one trace search may carry.
const MAX_SCORE_FILTERS: usize = 8;

/// The score filters of `params` (see [`TraceListParams::scores`]).
fn score_filters(params: &[(String, String)]) -> Result<Vec<ScoreFilter>, QueryError> {
    let mut filters: Vec<ScoreFilter> = Vec::new();
    for (key, value) in params {
        let rest = key.strip_prefix("score.").unwrap_or(key);
        let (name, bound) = match rest.rsplit_once('.') {
            Some((name, b @ ("min" | "max"))) => (name, Some(b)),
            _ => (rest, None),
        };
        if name.is_empty() {
            return Err(QueryError::BadRequest(format!(
                "{key}: name a score (score.NAME)"
            )));
        }
        let at = match filters.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                if filters.len() == MAX_SCORE_FILTERS {
                    return Err(QueryError::BadRequest(format!(
                        "at most {MAX_SCORE_FILTERS} score filters"
                    )));
                }
                filters.push(ScoreFilter {
                    name: name.to_string(),
                    ..Default::default()
                });
                filters.len().saturating_sub(1)
            }
        };
        let Some(f) = filters.get_mut(at) else {
            continue;
        };
        match bound {
            Some(b) => {
                let x: f64 = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite())
                    .ok_or_else(|| {
                        QueryError::BadRequest(format!("{key} must be a number, got {value:?}"))
                    })?;
                if b == "min" {
                    f.min = Some(x);
                } else {
                    f.max = Some(x);
                }
            }
            None if value.is_empty() => {}
            None => f.label = Some(value.clone()),
        }
    }
    Ok(filters)
}

/// The longest search text accepted.
const MAX_SEARCH_BYTES: usize = 1024;

/// Most buckets one statistics query may ask for.
const MAX_BUCKETS: u64 = 10_000;

/// Milliseconds (finite, non-negative) to whole nanoseconds.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "float to int `as` saturates, NaN -> 0"
)]
fn ms_to_nanos(ms: f64) -> u64 {
    (ms * 1e6) as u64
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.is_empty()).cloned()
}

fn time_param(name: &str, v: &Option<String>) -> Result<Option<u64>, QueryError> {
    non_empty(v)
        .map(|s| parse_rfc3339(&s).map_err(|e| QueryError::BadRequest(format!("{name}: {e}"))))
        .transpose()
}

impl TraceListParams {
    /// Validates into a store query.
    pub fn to_query(&self, project: &str) -> Result<TraceQuery, QueryError> {
        let errors_only = match self.status.as_deref() {
            None | Some("") => false,
            Some("error") => true,
            Some(other) => {
                return Err(QueryError::BadRequest(format!(
                    "status: unsupported value {other:?} (only \"error\")"
                )))
            }
        };
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(QueryError::BadRequest(format!(
                "limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}"
            )));
        }
        let min_duration_nanos = match self.min_duration_ms {
            Some(ms) if !(ms >= 0.0 && ms.is_finite()) => {
                return Err(QueryError::BadRequest(format!(
                    "min_duration_ms must be a non-negative number, got {ms}"
                )))
            }
            Some(ms) => Some(ms_to_nanos(ms)),
            None => None,
        };
        let min_cost_pico = match non_empty(&self.min_cost) {
            Some(c) => Some(
                Money::parse_decimal(&c)
                    .filter(|m| m.pico_usd >= 0)
                    .ok_or_else(|| {
                        QueryError::BadRequest(format!(
                            "min_cost must be a non-negative decimal amount of USD, got {c:?}"
                        ))
                    })?
                    .pico_usd,
            ),
            None => None,
        };
        let sort = match self.sort.as_deref() {
            None | Some("") => TraceSort::Time,
            Some(s) => TraceSort::parse(s).ok_or_else(|| {
                QueryError::BadRequest(format!("sort must be time, cost or duration, got {s:?}"))
            })?,
        };
        let text = non_empty(&self.q);
        if text.as_ref().is_some_and(|t| t.len() > MAX_SEARCH_BYTES) {
            return Err(QueryError::BadRequest(format!(
                "q must be at most {MAX_SEARCH_BYTES} bytes"
            )));
        }
        let scores = score_filters(&self.scores)?;
        let cursor = match non_empty(&self.cursor) {
            Some(c) => Some(
                TraceCursor::decode(&c)
                    .ok_or_else(|| QueryError::BadRequest(format!("cursor {c:?} is not valid")))?,
            ),
            None => None,
        };
        Ok(TraceQuery {
            project: project.to_string(),
            service: non_empty(&self.service),
            model: non_empty(&self.model),
            provider: non_empty(&self.provider),
            errors_only,
            user_id: non_empty(&self.user_id),
            session_id: non_empty(&self.session_id),
            since_unix_nano: time_param("since", &self.since)?,
            until_unix_nano: time_param("until", &self.until)?,
            min_duration_nanos,
            min_cost_pico,
            text,
            sort,
            limit,
            cursor,
            scores,
            without_score: non_empty(&self.without_score),
        })
    }
}

/// Parameters of `GET /api/stats`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StatsParams {
    /// `model` (default), `provider`, `service` or `operation`.
    pub group_by: Option<String>,
    /// RFC 3339 lower bound of the call start.
    pub since: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    pub until: Option<String>,
    /// Also group by time, in buckets of this width: seconds (`300`) or with a unit (`30s`,
    /// `5m`, `1h`, `1d`); needs `since`.
    pub bucket: Option<String>,
    /// Only calls of this service.
    pub service: Option<String>,
    /// Only calls of this model.
    pub model: Option<String>,
    /// Only calls of this provider.
    pub provider: Option<String>,
}

/// Parses a bucket width (`300`, `30s`, `5m`, `1h`, `1d`) into seconds.
pub fn parse_bucket_seconds(s: &str) -> Option<u64> {
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor).filter(|v| *v > 0)
}

impl StatsParams {
    /// Validates into a store query.
    pub fn to_query(&self, project: &str) -> Result<StatsQuery, QueryError> {
        let group = self.group_by.as_deref().unwrap_or("model");
        let group_by = GroupBy::parse(group).ok_or_else(|| {
            QueryError::BadRequest(format!(
                "group_by must be model, provider, service or operation, got {group:?}"
            ))
        })?;
        let since_unix_nano = time_param("since", &self.since)?;
        let until_unix_nano = time_param("until", &self.until)?;
        let bucket_nanos = match non_empty(&self.bucket) {
            None => None,
            Some(b) => {
                let secs = parse_bucket_seconds(&b).ok_or_else(|| {
                    QueryError::BadRequest(format!(
                        "bucket must be a positive number of seconds, or with a unit (30s, 5m, 1h, 1d), got {b:?}"
                    ))
                })?;
                let since = since_unix_nano.ok_or_else(|| {
                    QueryError::BadRequest("bucket needs since (the start of the range)".into())
                })?;
                let until = until_unix_nano.unwrap_or_else(crate::now_unix_nano);
                let width = secs
                    .checked_mul(1_000_000_000)
                    .ok_or_else(|| QueryError::BadRequest(format!("bucket {b:?} is too wide")))?;
                let buckets = until
                    .saturating_sub(since)
                    .checked_div(width)
                    .ok_or_else(|| {
                        QueryError::BadRequest(format!("bucket {b:?} must be a positive width"))
                    })?;
                if buckets > MAX_BUCKETS {
                    return Err(QueryError::BadRequest(format!(
                        "{buckets} buckets of {b} in the range; at most {MAX_BUCKETS}: widen the bucket or narrow the range"
                    )));
                }
                Some(width)
            }
        };
        Ok(StatsQuery {
            project: project.to_string(),
            group_by,
            since_unix_nano,
            until_unix_nano,
            bucket_nanos,
            service: non_empty(&self.service),
            model: non_empty(&self.model),
            provider: non_empty(&self.provider),
        })
    }
}

/// Parameters of `GET /api/sessions` and `GET /api/users`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TraceGroupParams {
    /// RFC 3339 lower bound of the trace start.
    pub since: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    pub until: Option<String>,
    /// Page size (default 50, at most 500).
    pub limit: Option<usize>,
    /// Groups to skip (the previous page's `next_offset`).
    pub offset: Option<usize>,
}

impl TraceGroupParams {
    /// Validates into a store query.
    pub fn to_query(&self, project: &str, by: TraceGroupBy) -> Result<TraceGroupQuery, QueryError> {
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(QueryError::BadRequest(format!(
                "limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}"
            )));
        }
        Ok(TraceGroupQuery {
            project: project.to_string(),
            by,
            since_unix_nano: time_param("since", &self.since)?,
            until_unix_nano: time_param("until", &self.until)?,
            offset: self.offset.unwrap_or(0),
            limit,
        })
    }
}

/// Parameters of `POST /api/pricing/recompute` (query string).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecomputeParams {
    /// RFC 3339: only spans starting at or after this time.
    pub since: Option<String>,
    /// Only spans of this model.
    pub model: Option<String>,
    /// `true` to compute and report without writing.
    pub dry_run: Option<bool>,
}

impl RecomputeParams {
    /// Validates into a store request.
    pub fn to_request(
        &self,
        project: &str,
    ) -> Result<llmtrace_store::RecomputeRequest, QueryError> {
        Ok(llmtrace_store::RecomputeRequest {
            project: project.to_string(),
            since_unix_nano: time_param("since", &self.since)?,
            model: non_empty(&self.model),
            dry_run: self.dry_run.unwrap_or(false),
            batch_spans: 2_000,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bucket so wide that its nanoseconds overflow is refused (it divided by zero).
    #[test]
    fn an_overflowing_bucket_is_a_bad_request() {
        let p = StatsParams {
            since: Some("2026-01-01T00:00:00Z".into()),
            bucket: Some("36028797018963968".into()),
            ..Default::default()
        };
        assert!(matches!(
            p.to_query("default"),
            Err(QueryError::BadRequest(_))
        ));
        let ok = StatsParams {
            since: Some("2026-01-01T00:00:00Z".into()),
            until: Some("2026-01-02T00:00:00Z".into()),
            bucket: Some("1h".into()),
            ..Default::default()
        };
        assert_eq!(
            ok.to_query("default").unwrap().bucket_nanos,
            Some(3_600_000_000_000)
        );
    }
}

#[cfg(test)]
mod score_filter_tests {
    use super::*;

    #[test]
    fn score_parameters_decode_and_group_by_name() {
        let raw = "limit=5&score.tone=very+polite&score.help%2Dful.min=0.5&score.help-ful.max=1&x=1&score.any=";
        let params = score_params(raw);
        assert_eq!(params.len(), 4);
        let filters = score_filters(&params).unwrap();
        assert_eq!(
            filters,
            vec![
                ScoreFilter {
                    name: "tone".into(),
                    label: Some("very polite".into()),
                    ..Default::default()
                },
                ScoreFilter {
                    name: "help-ful".into(),
                    min: Some(0.5),
                    max: Some(1.0),
                    label: None,
                },
                ScoreFilter {
                    name: "any".into(),
                    ..Default::default()
                },
            ]
        );
        // A dotted name keeps its dots; only a last `.min`/`.max` is a bound.
        let dotted = score_filters(&score_params("score.a.b=x&score.a.b.max=2")).unwrap();
        assert_eq!(dotted.len(), 1);
        assert_eq!(dotted[0].name, "a.b");
        for bad in [
            "score.x.min=NaN",
            "score.x.max=abc",
            "score.=1",
            "score..min=1",
        ] {
            assert!(score_filters(&score_params(bad)).is_err(), "{bad}");
        }
        assert!(
            score_params("score.x=%zz").is_empty(),
            "a broken escape is dropped"
        );
        let many: String = (0..9).map(|i| format!("score.s{i}=&")).collect();
        assert!(score_filters(&score_params(&many)).is_err());
    }
}
