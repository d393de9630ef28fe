//! Statistics of model calls answered from the call rollups (migration 12; kept by triggers
//! logged by triggers on `spans` and folded at commit, see [`crate::rollup_fold`]), following
//! [`llmtrace_store::rollup_plan`]: whole buckets from the rollup rows, the partial ten seconds
//! at the range's edges from the spans.

use crate::int::{count, int, range};
use crate::reader::project_id;
use llmtrace_store::rollup_plan::{plan, widest_level, RangePiece, RollupLevel};
use llmtrace_store::{GroupBy, LatencySketch, StatsGroup, StatsQuery};
use rusqlite::{params, types::Value, Connection, OptionalExtension};
use std::collections::{BTreeMap, HashMap};

/// The dimensions of a rollup row.
struct Dims {
    service: String,
    model: Option<String>,
    provider: Option<String>,
    operation: Option<String>,
}

impl Dims {
    fn matches(&self, q: &StatsQuery) -> bool {
        q.service.as_ref().is_none_or(|s| *s == self.service)
            && q.model
                .as_ref()
                .is_none_or(|m| Some(m) == self.model.as_ref())
            && q.provider
                .as_ref()
                .is_none_or(|p| Some(p) == self.provider.as_ref())
    }

    fn key(&self, by: GroupBy) -> Option<String> {
        match by {
            GroupBy::Model => self.model.clone(),
            GroupBy::Provider => self.provider.clone(),
            GroupBy::Service => Some(self.service.clone()),
            GroupBy::Operation => self.operation.clone(),
        }
    }
}

/// One group being summed.
#[derive(Default)]
struct Acc {
    group: StatsGroup,
    latency: LatencySketch,
}

type Groups = BTreeMap<(Option<u64>, Option<String>), Acc>;

/// The sums of one rollup row or one span.
struct Contribution {
    calls: i64,
    errors: i64,
    tokens: [i64; 5],
    cost_pico: i64,
    unpriced_calls: i64,
}

fn add<'g>(
    groups: &'g mut Groups,
    bucket: Option<u64>,
    key: Option<String>,
    c: &Contribution,
) -> &'g mut Acc {
    let acc = groups.entry((bucket, key.clone())).or_default();
    let g = &mut acc.group;
    g.bucket_start_unix_nano = bucket;
    g.key = key;
    g.calls = g.calls.saturating_add(count(c.calls));
    g.errors = g.errors.saturating_add(count(c.errors));
    let [input, output, cache_read, cache_write, reasoning] = c.tokens.map(count);
    g.input_tokens = g.input_tokens.saturating_add(input);
    g.output_tokens = g.output_tokens.saturating_add(output);
    g.cache_read_tokens = g.cache_read_tokens.saturating_add(cache_read);
    g.cache_write_tokens = g.cache_write_tokens.saturating_add(cache_write);
    g.reasoning_tokens = g.reasoning_tokens.saturating_add(reasoning);
    g.cost_pico = g.cost_pico.saturating_add(c.cost_pico);
    g.unpriced_calls = g.unpriced_calls.saturating_add(count(c.unpriced_calls));
    acc
}

/// Statistics of counted model calls per group (the contract of
/// [`llmtrace_store::TraceReader::stats`]).
pub(crate) fn stats(conn: &Connection, q: &StatsQuery) -> rusqlite::Result<Vec<StatsGroup>> {
    let Some(pid) = project_id(conn, &q.project)? else {
        return Ok(Vec::new());
    };
    let (since, until) = range(q.since_unix_nano, q.until_unix_nano);
    let dims = load_dims(conn, pid)?;
    // The narrowest rollups can stand in for a partial bucket only when they fit the query's
    // buckets.
    let buckets_fit = widest_level(q.bucket_nanos).is_some();
    let mut groups = Groups::new();
    for piece in plan(since, until, q.bucket_nanos) {
        match piece {
            RangePiece::Rollup { level, from, to } => {
                add_rollups(conn, pid, q, &dims, level, from, to, &mut groups)?;
            }
            RangePiece::Spans { from, to } => match whole_bucket(conn, pid, from, to, buckets_fit)?
            {
                Some(bucket) => {
                    let end = bucket.saturating_add(RollupLevel::TenSeconds.width_nanos());
                    add_rollups(
                        conn,
                        pid,
                        q,
                        &dims,
                        RollupLevel::TenSeconds,
                        bucket,
                        end,
                        &mut groups,
                    )?;
                }
                None => add_spans(conn, pid, q, from, to, &mut groups)?,
            },
        }
    }
    Ok(groups
        .into_values()
        .filter(|acc| acc.group.calls > 0)
        .map(|mut acc| {
            acc.group.set_percentiles(&acc.latency);
            acc.group
        })
        .collect())
}

fn load_dims(conn: &Connection, pid: i64) -> rusqlite::Result<HashMap<i64, Dims>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, service, model, provider, operation FROM rollup_dims WHERE project_id = ?1",
    )?;
    let rows = stmt.query_map([pid], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            Dims {
                service: r.get(1)?,
                model: r.get(2)?,
                provider: r.get(3)?,
                operation: r.get(4)?,
            },
        ))
    })?;
    rows.collect()
}

/// When the spans piece `[from, to)` lies in one ten-second bucket and no model call of that
/// bucket starts outside it, the bucket's start: its rollup is exactly the piece.
fn whole_bucket(
    conn: &Connection,
    pid: i64,
    from: u64,
    to: u64,
    buckets_fit: bool,
) -> rusqlite::Result<Option<u64>> {
    if !buckets_fit {
        return Ok(None);
    }
    edge_bucket(
        conn,
        "SELECT 1 FROM spans WHERE project_id = ?1 AND kind IN (0, 1) AND start_ns >= ?2 \
         AND start_ns < ?3 LIMIT 1",
        pid,
        RollupLevel::TenSeconds.width_nanos(),
        (from, to),
    )
}

/// The start of the bucket of `width` holding the piece `[from, to)`, when the piece lies in
/// one bucket and `probe` (one row of project `?1` starting in `[?2, ?3)`) finds nothing of
/// that bucket outside the piece: the bucket's summary is then exactly the piece.
pub(crate) fn edge_bucket(
    conn: &Connection,
    probe: &str,
    pid: i64,
    width: u64,
    (from, to): (u64, u64),
) -> rusqlite::Result<Option<u64>> {
    let bucket = from.saturating_sub(from.checked_rem(width).unwrap_or(0));
    let end = bucket.saturating_add(width);
    if to > end {
        return Ok(None);
    }
    let mut probe = conn.prepare_cached(probe)?;
    for (a, b) in [(bucket, from), (to, end)] {
        if a < b
            && probe
                .query_row(params![pid, int(a), int(b)], |_| Ok(()))
                .optional()?
                .is_some()
        {
            return Ok(None);
        }
    }
    Ok(Some(bucket))
}

#[allow(
    clippy::too_many_arguments,
    reason = "one read of one piece; the arguments are the piece and where it goes"
)]
fn add_rollups(
    conn: &Connection,
    pid: i64,
    q: &StatsQuery,
    dims: &HashMap<i64, Dims>,
    level: RollupLevel,
    from: u64,
    to: u64,
    groups: &mut Groups,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT dims_id, bucket_ns, calls, errors, input_tokens, output_tokens, \
         cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_pico, unpriced_calls, \
         latency FROM call_rollups WHERE project_id = ?1 AND level = ?2 AND bucket_ns >= ?3 \
         AND bucket_ns < ?4",
    )?;
    let mut rows = stmt.query(params![pid, level.code(), int(from), int(to)])?;
    while let Some(r) = rows.next()? {
        let Some(d) = dims.get(&r.get::<_, i64>(0)?) else {
            continue;
        };
        if !d.matches(q) {
            continue;
        }
        let n = |i: usize| -> rusqlite::Result<i64> { Ok(saturated(r.get_ref(i)?)) };
        let c = Contribution {
            calls: n(2)?,
            errors: n(3)?,
            tokens: [n(4)?, n(5)?, n(6)?, n(7)?, n(8)?],
            cost_pico: n(9)?,
            unpriced_calls: n(10)?,
        };
        if c.calls <= 0 {
            continue;
        }
        let bucket = q.bucket_of(count(r.get(1)?));
        let acc = add(groups, bucket, d.key(q.group_by), &c);
        let latency = r
            .get_ref(11)?
            .as_blob()
            .ok()
            .and_then(LatencySketch::decode);
        if let Some(latency) = latency {
            acc.latency.merge(&latency);
        }
    }
    Ok(())
}

/// A stored sum: SQLite turns an integer sum that overflows into a float, read back saturated.
#[allow(
    clippy::cast_possible_truncation,
    reason = "float to int `as` saturates, which is the sum's meaning here"
)]
pub(crate) fn saturated(v: rusqlite::types::ValueRef<'_>) -> i64 {
    match v {
        rusqlite::types::ValueRef::Integer(i) => i,
        rusqlite::types::ValueRef::Real(f) => f as i64,
        _ => 0,
    }
}

/// Adds the counted model calls starting in `[from, to)`, read from the spans.
fn add_spans(
    conn: &Connection,
    pid: i64,
    q: &StatsQuery,
    from: u64,
    to: u64,
    groups: &mut Groups,
) -> rusqlite::Result<()> {
    let column = match q.group_by {
        GroupBy::Model => "model",
        GroupBy::Provider => "provider",
        GroupBy::Service => "service",
        GroupBy::Operation => "operation",
    };
    let mut sql = format!(
        "SELECT {column}, status, end_ns - start_ns, counts_usage, input_tokens, output_tokens, \
         cache_read_tokens, cache_write_tokens, reasoning_tokens, \
         coalesce(reported_pico, cost_pico), unpriced, start_ns FROM spans \
         WHERE project_id = ?1 AND kind IN (0, 1) AND start_ns >= ?2 AND start_ns < ?3 AND counted = 1"
    );
    let mut args: Vec<Value> = vec![
        Value::Integer(pid),
        Value::Integer(int(from)),
        Value::Integer(int(to)),
    ];
    for (column, value) in [
        ("service", &q.service),
        ("model", &q.model),
        ("provider", &q.provider),
    ] {
        if let Some(v) = value {
            sql.push_str(&format!(" AND {column} = ?"));
            args.push(Value::Text(v.clone()));
        }
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let counts_usage: bool = r.get(3)?;
        let tokens = |i: usize| -> rusqlite::Result<i64> {
            Ok(if counts_usage {
                r.get::<_, Option<i64>>(i)?.unwrap_or(0)
            } else {
                0
            })
        };
        let cost: Option<i64> = r.get(9)?;
        let c = Contribution {
            calls: 1,
            errors: i64::from(r.get::<_, i64>(1)? == 2),
            tokens: [tokens(4)?, tokens(5)?, tokens(6)?, tokens(7)?, tokens(8)?],
            cost_pico: cost.unwrap_or(0),
            unpriced_calls: i64::from(cost.is_none() && r.get::<_, bool>(10)?),
        };
        let bucket = q.bucket_of(count(r.get(11)?));
        let acc = add(groups, bucket, r.get(0)?, &c);
        acc.latency.add(r.get(2)?, 1);
    }
    Ok(())
}
