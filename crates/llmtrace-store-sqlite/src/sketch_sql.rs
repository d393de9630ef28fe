//! The SQL functions the call-rollup triggers use to keep latency sketches
//! ([`llmtrace_store::LatencySketch`], stored as its encoding) in step with the spans:
//!
//! - `llmtrace_sketch_add(sketch, duration_ns, count)`: the sketch (NULL: empty) with `count`
//!   durations of `duration_ns` added (a negative count removes them);
//! - `llmtrace_sketch_merge(a, b)`: the two sketches merged.
//!
//! They are registered on every connection that writes spans (the triggers fail without them);
//! reader connections never fire the triggers. A stored sketch that does not decode (which no
//! writer stores) reads as empty rather than failing every later write to its rollup row.

use llmtrace_store::LatencySketch;
use rusqlite::functions::{Context, FunctionFlags};
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

/// Registers the sketch functions on `conn`.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("llmtrace_sketch_add", 3, flags, |ctx| {
        let mut sketch = sketch_arg(ctx, 0);
        sketch.add(int_arg(ctx, 1), int_arg(ctx, 2));
        Ok(sketch.encode())
    })?;
    conn.create_scalar_function("llmtrace_sketch_merge", 2, flags, |ctx| {
        let mut sketch = sketch_arg(ctx, 0);
        sketch.merge(&sketch_arg(ctx, 1));
        Ok(sketch.encode())
    })
}
