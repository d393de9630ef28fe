//! The process's allocator, and how soon it gives freed memory back to the system.
//!
//! mimalloc instead of the system allocator: the write path allocates many small strings (rows,
//! JSON), and glibc's malloc and free were a quarter of the ClickHouse writer's CPU (see
//! `BENCHMARKS.md`). By default mimalloc purges freed memory a second after it is freed, and only
//! when a later allocation notices, so an idle server kept every page its last burst freed: 36
//! MiB fresh and a peak of 151–167 MiB over 600,000 spans, against 27 MiB and 117–124 MiB when
//! freed memory is purged at once, at the same ingest rate within the machine's spread
//! (BENCHMARKS.md, "Write path (issue 16)").

use std::os::raw::c_int;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (`mimalloc.h`), which
/// `libmimalloc-sys` does not name: milliseconds before freed memory is returned to the system.
const PURGE_DELAY: c_int = 15;

/// Returns freed memory to the system at once, unless the environment sets the delay
/// (`MIMALLOC_PURGE_DELAY`, which mimalloc reads itself). Call first thing in `main`, before any
/// other thread exists (mimalloc's option setters are not thread-safe).
pub(crate) fn return_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a plain setter of mimalloc's global options, called before any other thread
        // runs.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
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
