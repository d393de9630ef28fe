//! The SQL functions the rollup fold uses to keep latency sketches
//! ([`llmtrace_store::LatencySketch`], stored as its encoding) in step with the spans:
//!
//! - `llmtrace_sketch_merge(a, b)`: the two sketches merged;
//! - `llmtrace_sketch_agg(duration_ns, count)` (aggregate): the sketch of a group's durations;
//! - `llmtrace_sat_sum(x)` (aggregate): an integer sum that saturates at the `i64` bounds
//!   instead of failing (SQLite's `sum` raises an overflow error, `total` loses exactness).
//!
//! They are registered on the writing connection ([`crate::rollup_fold`] runs there); reader
//! connections never need them. A stored sketch that does not decode (which no writer stores)
//! reads as empty rather than failing every later write to its rollup row.

use llmtrace_store::LatencySketch;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::Connection;

fn sketch_arg(ctx: &Context<'_>, index: usize) -> LatencySketch {
    match ctx.get_raw(index) {
        ValueRef::Blob(bytes) => LatencySketch::decode(bytes).unwrap_or_default(),
        _ => LatencySketch::new(),
    }
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "a duration beyond i64 (SQLite turns an overflowing subtraction into a float) \
              saturates"
)]
fn int_arg(ctx: &Context<'_>, index: usize) -> i64 {
    match ctx.get_raw(index) {
        ValueRef::Integer(i) => i,
        ValueRef::Real(f) => f as i64,
        _ => 0,
    }
}

/// `llmtrace_sketch_agg`.
struct SketchAgg;

impl Aggregate<LatencySketch, Vec<u8>> for SketchAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<LatencySketch> {
        Ok(LatencySketch::new())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut LatencySketch) -> rusqlite::Result<()> {
        acc.add(int_arg(ctx, 0), int_arg(ctx, 1));
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<LatencySketch>,
    ) -> rusqlite::Result<Vec<u8>> {
        Ok(acc.unwrap_or_default().encode())
    }
}

/// `llmtrace_sat_sum`.
struct SaturatingSum;

impl Aggregate<i64, i64> for SaturatingSum {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<i64> {
        Ok(0)
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut i64) -> rusqlite::Result<()> {
        *acc = acc.saturating_add(int_arg(ctx, 0));
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<i64>) -> rusqlite::Result<i64> {
        Ok(acc.unwrap_or(0))
    }
}

/// Registers the sketch functions on `conn`.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("llmtrace_sketch_merge", 2, flags, |ctx| {
        let mut sketch = sketch_arg(ctx, 0);
        sketch.merge(&sketch_arg(ctx, 1));
        Ok(sketch.encode())
    })?;
    conn.create_aggregate_function("llmtrace_sketch_agg", 2, flags, SketchAgg)?;
    conn.create_aggregate_function("llmtrace_sat_sum", 1, flags, SaturatingSum)
}
