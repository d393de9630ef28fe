//! The process's allocator, and how soon it gives freed memory back to the system.
//!
//! mimalloc instead of the system allocator: the write path allocates many small strings (rows,
//! JSON), and glibc's malloc and free were a quarter of the ClickHouse writer's CPU (see
//! `BENCHMARKS.md`). By default mimalloc purges freed memory a second after it is freed, and only
//! when a later allocation notices, and asks for transparent huge pages, which the kernel fills
//! in 2 MiB at a time: an idle server held 33–36 MiB and a peak of 151–181 MiB over 600,000 RAG
//! spans. Built without huge pages (the `no_thp` feature) and purging after 10 ms, it holds
//! 22–25 MiB idle and peaks at 97–101 MiB at the same ingest rate; purging at once saved a few
//! MiB more but cost about 12 % of the agent shape's rate, whose large bodies it returned and
//! faulted in again request after request (BENCHMARKS.md, "Write path (issue 16)").

use std::os::raw::{c_int, c_long};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (`mimalloc.h`), which
/// `libmimalloc-sys` does not name: milliseconds before freed memory is returned to the system.
const PURGE_DELAY: c_int = 15;

/// Milliseconds after which freed memory goes back to the system.
const PURGE_DELAY_MS: c_long = 10;

/// Returns freed memory to the system after [`PURGE_DELAY_MS`], unless the environment sets
/// the delay (`MIMALLOC_PURGE_DELAY`, which mimalloc reads itself). Call first thing in `main`,
/// before any other thread exists (mimalloc's option setters are not thread-safe).
pub(crate) fn return_freed_memory_soon() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a plain setter of mimalloc's global options, called before any other thread
        // runs.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number is mimalloc's own: its default is that of `options.c` (1,000 ms).
    /// Fails if the bundled mimalloc renumbers its options.
    #[test]
    fn option_number_names_the_purge_delay() {
        // SAFETY: a read of mimalloc's global options; no test of this binary sets them.
        let delay = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        assert_eq!(delay, 1000);
    }
}
