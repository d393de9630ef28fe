//! A thin ClickHouse HTTP client: statements, `RowBinary` inserts, `JSONEachRow` reads, error
//! classification, SQL literal quoting, and failover between servers.

use llmtrace_store::StoreError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a client that failed over stays on the endpoint it failed over to before it checks
/// whether the first one is back and caught up (in a replicated cluster the first node is where
/// every llmtrace node should write, see `ClickHouseStore::connect_cluster`).
const RETRY_PREFERRED_AFTER: Duration = Duration::from_secs(5);

/// Settings sent with every request; both 18.16 and current servers accept them.
const COMMON_SETTINGS: &[(&str, &str)] = &[
    // 18.16 quotes 64-bit integers in JSON output by default; current servers do not.
    ("output_format_json_quote_64bit_integers", "0"),
];

/// ClickHouse exception codes that will fail the same way when retried: bad SQL, unknown
/// objects, type and parse errors. Any other server-side failure is treated as transient.
const PERMANENT_CODES: &[u32] = &[
    6, 8, 10, 16, 20, 26, 27, 32, 33, 35, 36, 38, 41, 42, 43, 44, 46, 47, 48, 49, 50, 53, 57, 60,
    62, 69, 70, 72, 73, 80, 81, 82, 113, 115, 117, 128, 130, 131, 132, 147, 164, 169, 170, 179,
    184, 190, 206, 207, 215, 216, 352, 386, 497,
];

/// Where and how to reach one ClickHouse server, with other servers to fail over to.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    /// The servers, in order of preference: the first, then (when it cannot be reached) the
    /// next ones.
    endpoints: Arc<Vec<Endpoint>>,
    /// The endpoint in use: the last one that could be reached.
    current: Arc<AtomicUsize>,
    /// When the client last failed over (milliseconds since `epoch`): after
    /// [`RETRY_PREFERRED_AFTER`] it tries the first endpoint again.
    failed_over_at: Arc<AtomicU64>,
    epoch: Instant,
    /// The database whose replicated tables must have caught up on the first endpoint before
    /// the client goes back to it.
    database: Option<String>,
    /// Settings sent with every request besides [`COMMON_SETTINGS`].
    settings: Vec<(String, String)>,
}

/// One server's HTTP interface and credentials.
#[derive(Clone)]
pub(crate) struct Endpoint {
    /// `http://host:port/`.
    pub(crate) base: String,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
}

/// Maps a transport failure: the server was unreachable or the exchange broke off.
fn transport_error(e: reqwest::Error) -> StoreError {
    StoreError::Transient(format!("clickhouse unreachable: {e}"))
}

/// The exception code in a ClickHouse error body (`Code: 62, e.displayText() = ...`).
fn exception_code(body: &str) -> Option<u32> {
    let rest = body.trim_start().strip_prefix("Code:")?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Classifies a failed response by its exception code, else by its HTTP status.
pub(crate) fn classify(status: u16, header_code: Option<u32>, body: &str) -> StoreError {
    let code = header_code.or_else(|| exception_code(body));
    let text: String = body.trim().chars().take(2000).collect();
    let msg = format!("clickhouse answered {status}: {text}");
    match code {
        Some(c) if PERMANENT_CODES.contains(&c) => StoreError::Permanent(msg),
        Some(_) => StoreError::Transient(msg),
        None if status >= 500 || status == 429 || status == 408 => StoreError::Transient(msg),
        None => StoreError::Permanent(msg),
    }
}

impl Client {
    /// A client of the server at `base` (`http://host:port`).
    pub(crate) fn new(
        base: String,
        user: Option<String>,
        password: Option<String>,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| StoreError::Permanent(format!("http client: {e}")))?;
        Ok(Client {
            http,
            endpoints: Arc::new(vec![Endpoint {
                base,
                user,
                password,
            }]),
            current: Arc::new(AtomicUsize::new(0)),
            failed_over_at: Arc::new(AtomicU64::new(0)),
            epoch: Instant::now(),
            database: None,
            settings: Vec::new(),
        })
    }

    /// This client with `others` to fail over to, in order, when the servers before them cannot
    /// be reached (connection refused or timed out; a request that reached a server is never
    /// sent again elsewhere).
    /// `database` is the one whose replicas must have caught up on the first endpoint before the
    /// client goes back to it.
    pub(crate) fn with_fallbacks(
        mut self,
        others: impl IntoIterator<Item = Endpoint>,
        database: &str,
    ) -> Self {
        let mut all = self.endpoints.as_ref().clone();
        all.extend(others);
        self.endpoints = Arc::new(all);
        self.database = Some(database.to_string());
        self
    }

    /// Adds a setting sent with every request.
    pub(crate) fn with_setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_string(), value.to_string()));
        self
    }

    fn request(&self, to: &Endpoint, query: Option<&str>) -> reqwest::RequestBuilder {
        let mut params: Vec<(&str, &str)> = COMMON_SETTINGS.to_vec();
        params.extend(self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(q) = query {
            params.push(("query", q));
        }
        let mut req = self.http.post(&to.base).query(&params);
        if let Some(u) = &to.user {
            req = req.header("X-ClickHouse-User", u);
        }
        if let Some(p) = &to.password {
            req = req.header("X-ClickHouse-Key", p);
        }
        req
    }

    /// Sends `body` (with `query` in the URL when given) to the endpoint in use, failing over to
    /// the next ones while a server cannot be reached, and returns the body of a successful
    /// answer. A client that failed over goes back to the first endpoint once it answers again
    /// and has caught up with its replicas, checked every [`RETRY_PREFERRED_AFTER`].
    async fn send(
        &self,
        query: Option<&str>,
        body: impl Into<bytes::Bytes>,
        timeout: Option<Duration>,
    ) -> Result<String, StoreError> {
        let body = body.into();
        let count = self.endpoints.len();
        let now_ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        // A client always has its first endpoint; without one there is nothing to send to.
        let (Some(preferred), Some(mut first)) = (
            self.endpoints.first(),
            self.current.load(Ordering::Relaxed).checked_rem(count),
        ) else {
            return Err(StoreError::Permanent("no ClickHouse endpoint".into()));
        };
        let failed_over_at = self.failed_over_at.load(Ordering::Relaxed);
        let retry_after_ms = u64::try_from(RETRY_PREFERRED_AFTER.as_millis()).unwrap_or(u64::MAX);
        let due = now_ms.saturating_sub(failed_over_at) >= retry_after_ms;
        // One request checks the first endpoint (it claims the check by moving the time on);
        // the others go on with the endpoint in use.
        if first != 0
            && due
            && self
                .failed_over_at
                .compare_exchange(failed_over_at, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && self.preferred_caught_up().await
        {
            tracing::info!(to = %preferred.base, "clickhouse server back; failing back");
            first = 0;
        }
        let mut attempt: usize = 0;
        let resp = loop {
            // `count` is not 0 (checked above), so this is `(first + attempt) % count`.
            let index = first
                .saturating_add(attempt)
                .checked_rem(count)
                .unwrap_or_default();
            let Some(endpoint) = self.endpoints.get(index) else {
                return Err(StoreError::Permanent("no ClickHouse endpoint".into()));
            };
            let mut req = self.request(endpoint, query).body(body.clone());
            if let Some(t) = timeout {
                req = req.timeout(t);
            }
            match req.send().await {
                Ok(resp) => {
                    if index != first {
                        tracing::warn!(
                            from = %self.endpoints.get(first).map_or("", |e| e.base.as_str()),
                            to = %endpoint.base,
                            "clickhouse server unreachable; failed over"
                        );
                        // From when the fallback answered: a first node that timed out must
                        // not make the next request try it again at once.
                        let answered = self.epoch.elapsed().as_millis();
                        self.failed_over_at.store(
                            u64::try_from(answered).unwrap_or(u64::MAX),
                            Ordering::Relaxed,
                        );
                    }
                    self.current.store(index, Ordering::Relaxed);
                    break resp;
                }
                Err(e) if e.is_connect() && attempt.saturating_add(1) < count => {
                    attempt = attempt.saturating_add(1);
                }
                Err(e) => return Err(transport_error(e)),
            }
        };
        self.answer(resp).await
    }

    /// Whether the first endpoint answers and its replicated tables (if any) are at most a
    /// second behind their other replicas: a node back from an outage is used again only once
    /// it has fetched what was written meanwhile.
    async fn preferred_caught_up(&self) -> bool {
        let scope = self
            .database
            .as_deref()
            .map(|db| format!(" WHERE database = {}", lit(db)))
            .unwrap_or_default();
        let Some(preferred) = self.endpoints.first() else {
            return false;
        };
        let sql = format!("SELECT toUInt64(max(absolute_delay)) FROM system.replicas{scope}");
        let req = self
            .request(preferred, None)
            .body(sql)
            .timeout(Duration::from_secs(2));
        let answer = match req.send().await {
            Ok(resp) if resp.status().is_success() => resp.text().await.unwrap_or_default(),
            Ok(resp) => format!("status {}", resp.status()),
            Err(e) => e.to_string(),
        };
        match answer.trim().parse::<u64>() {
            Ok(delay) if delay <= 1 => true,
            Ok(delay) => {
                tracing::info!(
                    server = %preferred.base,
                    delay_s = delay,
                    "clickhouse server back but behind its replicas; not failing back yet"
                );
                false
            }
            Err(_) => {
                tracing::debug!(server = %preferred.base, %answer, "clickhouse server still unreachable");
                false
            }
        }
    }

    /// The body of a successful answer, or the error it reports.
    async fn answer(&self, resp: reqwest::Response) -> Result<String, StoreError> {
        let status = resp.status().as_u16();
        let header_code = resp
            .headers()
            .get("X-ClickHouse-Exception-Code")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = resp.text().await.map_err(transport_error)?;
        if !(200..300).contains(&status) {
            return Err(classify(status, header_code, &body));
        }
        // A query that failed after the headers went out ends its body with the exception.
        let last = body.lines().rev().find(|l| !l.trim().is_empty());
        if let Some(l) = last.filter(|l| exception_code(l).is_some()) {
            return Err(classify(500, header_code, l));
        }
        Ok(body)
    }

    /// [`Client::execute`] with its own timeout (a long migration step).
    pub(crate) async fn execute_with_timeout(
        &self,
        sql: &str,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        tracing::debug!(sql, "clickhouse statement");
        self.send(None, sql.to_string(), Some(timeout))
            .await
            .map(|_| ())
    }

    /// Runs a statement (DDL, or a query whose answer is not needed); the SQL is the body.
    pub(crate) async fn execute(&self, sql: &str) -> Result<(), StoreError> {
        tracing::debug!(sql, "clickhouse statement");
        self.send(None, sql.to_string(), None).await.map(|_| ())
    }

    /// Runs a query and parses its `JSONEachRow` answer (the SQL must not name a format).
    pub(crate) async fn select<T: DeserializeOwned>(
        &self,
        sql: &str,
    ) -> Result<Vec<T>, StoreError> {
        let body = self
            .send(None, format!("{sql} FORMAT JSONEachRow"), None)
            .await?;
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| {
                    StoreError::Permanent(format!("unreadable clickhouse row ({e}): {l}"))
                })
            })
            .collect()
    }

    /// Inserts rows into `table` in `RowBinary` (the rows' fields name the columns, see
    /// `rowbinary.rs`); returns once the server confirmed the insert.
    pub(crate) async fn insert<T: Serialize>(
        &self,
        table: &str,
        rows: &[T],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let encoded = crate::rowbinary::encode(rows)
            .map_err(|e| StoreError::Permanent(format!("cannot encode row: {e}")))?;
        let query = format!(
            "INSERT INTO {table} ({}) FORMAT RowBinary",
            encoded.columns.join(", ")
        );
        self.send(Some(&query), encoded.body, None)
            .await
            .map(|_| ())
    }

    /// Inserts rows into `table` as `JSONEachRow` (for rows without exact column types, such as
    /// `serde_json::Value`s); returns once the server confirmed the insert.
    #[cfg(all(test, feature = "testserver"))]
    pub(crate) async fn insert_json<T: Serialize>(
        &self,
        table: &str,
        rows: &[T],
    ) -> Result<(), StoreError> {
        let mut body = Vec::with_capacity(rows.len() * 512);
        for r in rows {
            serde_json::to_writer(&mut body, r)
                .map_err(|e| StoreError::Permanent(format!("cannot encode row: {e}")))?;
            body.push(b'\n');
        }
        let query = format!("INSERT INTO {table} FORMAT JSONEachRow");
        self.send(Some(&query), body, None).await.map(|_| ())
    }
}

/// A ClickHouse string literal.
pub(crate) fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len().saturating_add(2));
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped() {
        assert_eq!(lit("a'b\\c"), "'a\\'b\\\\c'");
    }

    #[test]
    fn errors_are_classified() {
        let syntax = "Code: 62, e.displayText() = DB::Exception: Syntax error";
        assert!(matches!(
            classify(500, None, syntax),
            StoreError::Permanent(_)
        ));
        let mem = "Code: 241, e.displayText() = DB::Exception: Memory limit exceeded";
        assert!(matches!(classify(500, None, mem), StoreError::Transient(_)));
        assert!(matches!(classify(503, None, ""), StoreError::Transient(_)));
        assert!(matches!(
            classify(400, None, "bad"),
            StoreError::Permanent(_)
        ));
        assert!(matches!(
            classify(500, Some(60), "whatever"),
            StoreError::Permanent(_)
        ));
    }
}
