//! How long each phase of a store write took, for the writers' debug logs.

use std::time::{Duration, Instant};

/// The phases of one write, each ended by [`WritePhases::mark`]; `Display` prints
/// `name 1.2 ms, name 0.3 ms, ...`.
pub struct WritePhases {
    last: Instant,
    done: Vec<(&'static str, Duration)>,
}

impl WritePhases {
    /// Starts timing the first phase.
    pub fn start() -> Self {
        WritePhases {
            last: Instant::now(),
            done: Vec::new(),
        }
    }

    /// Ends the phase called `name` (and starts the next).
    pub fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        self.done
            .push((name, now.saturating_duration_since(self.last)));
        self.last = now;
    }

    /// Adds `took` to the phase called `name` without ending the current one: for a phase
    /// interleaved with others (timed per item).
    pub fn add(&mut self, name: &'static str, took: Duration) {
        match self.done.iter_mut().find(|(n, _)| *n == name) {
            Some((_, d)) => *d = d.saturating_add(took),
            None => self.done.push((name, took)),
        }
    }
}

impl std::fmt::Display for WritePhases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, d)) in self.done.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{name} {:.1} ms", d.as_secs_f64() * 1000.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_listed_in_order_and_added_ones_accumulate() {
        let mut p = WritePhases::start();
        p.mark("first");
        p.add("encode", Duration::from_millis(2));
        p.add("encode", Duration::from_millis(3));
        p.mark("second");
        let text = p.to_string();
        let first = text.find("first").unwrap();
        let encode = text.find("encode 5.0 ms").unwrap();
        let second = text.find("second").unwrap();
        assert!(first < encode && encode < second, "{text}");
    }
}
