//! Server-sent events split out of a byte stream that arrives in arbitrary chunks, with bounded
//! memory: a line or an event longer than the limit is dropped (counted), never buffered whole.
//!
//! Written by hand: the SSE crates of the registry parse a `Stream` they own, while the gateway
//! must forward every chunk untouched the moment it arrives and only look at a copy.

/// One event: its `event:` name (empty when none) and its `data:` lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field.
    pub name: String,
    /// The `data:` fields, joined.
    pub data: String,
}

/// Splits a byte stream into events.
#[derive(Debug)]
pub struct Splitter {
    max_event_bytes: usize,
    line: Vec<u8>,
    line_overflow: bool,
    name: String,
    data: String,
    event_overflow: bool,
    /// Events dropped for exceeding the limit.
    pub dropped: u64,
}

impl Splitter {
    /// A splitter keeping at most `max_event_bytes` of one event.
    pub fn new(max_event_bytes: usize) -> Self {
        Splitter {
            max_event_bytes,
            line: Vec::new(),
            line_overflow: false,
            name: String::new(),
            data: String::new(),
            event_overflow: false,
            dropped: 0,
        }
    }

    /// Feeds one chunk; calls `on_event` for every event it completes.
    pub fn feed(&mut self, chunk: &[u8], on_event: &mut impl FnMut(Event)) {
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            let (head, tail) = rest.split_at(pos);
            self.push_line_bytes(head);
            self.end_line(on_event);
            rest = tail.get(1..).unwrap_or_default();
        }
        self.push_line_bytes(rest);
    }

    /// Ends the stream: a last event without its blank line still counts.
    pub fn finish(&mut self, on_event: &mut impl FnMut(Event)) {
        if !self.line.is_empty() {
            self.end_line(on_event);
        }
        self.dispatch(on_event);
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) {
        if self.line_overflow {
            return;
        }
        if self.line.len().saturating_add(bytes.len()) > self.max_event_bytes {
            self.line_overflow = true;
            self.line.clear();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn end_line(&mut self, on_event: &mut impl FnMut(Event)) {
        let overflow = std::mem::take(&mut self.line_overflow);
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if overflow {
            self.event_overflow = true;
            return;
        }
        if line.is_empty() {
            self.dispatch(on_event);
            return;
        }
        let text = String::from_utf8_lossy(&line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "event" => self.name = value.to_string(),
            "data" => {
                if self
                    .data
                    .len()
                    .saturating_add(value.len())
                    .saturating_add(1)
                    > self.max_event_bytes
                {
                    self.event_overflow = true;
                } else if !self.event_overflow {
                    if !self.data.is_empty() {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                }
            }
            _ => {} // comments (`: ping`), `id:`, `retry:`
        }
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(Event)) {
        let name = std::mem::take(&mut self.name);
        let data = std::mem::take(&mut self.data);
        if std::mem::take(&mut self.event_overflow) {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        if !data.is_empty() || !name.is_empty() {
            on_event(Event { name, data });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_all(chunks: &[&[u8]], max: usize) -> (Vec<Event>, u64) {
        let mut s = Splitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut |e| out.push(e));
        }
        s.finish(&mut |e| out.push(e));
        (out, s.dropped)
    }

    const STREAM: &[u8] = b"event: message_start\ndata: {\"a\":1}\n\n: ping\n\ndata: x\r\ndata: y\r\n\r\ndata: [DONE]\n\n";

    fn expected() -> Vec<Event> {
        vec![
            Event {
                name: "message_start".into(),
                data: "{\"a\":1}".into(),
            },
            Event {
                name: String::new(),
                data: "x\ny".into(),
            },
            Event {
                name: String::new(),
                data: "[DONE]".into(),
            },
        ]
    }

    #[test]
    fn events_whole_and_in_pieces() {
        assert_eq!(split_all(&[STREAM], 1024), (expected(), 0));
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(split_all(&bytes, 1024), (expected(), 0));
    }

    #[test]
    fn an_event_over_the_limit_is_dropped_and_the_next_one_kept() {
        let big = format!("data: {}\n\ndata: small\n\n", "z".repeat(100));
        let (events, dropped) = split_all(&[big.as_bytes()], 50);
        assert_eq!(dropped, 1);
        assert_eq!(events.len(), 1);
        assert_eq!(events.first().map(|e| e.data.as_str()), Some("small"));
    }

    #[test]
    fn a_last_event_without_blank_line_counts() {
        let (events, _) = split_all(&[b"data: tail"], 64);
        assert_eq!(events.len(), 1);
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_events(cuts in proptest::collection::vec(0usize..STREAM.len(), 0..8)) {
            let mut cuts = cuts;
            cuts.sort();
            let mut pieces = Vec::new();
            let mut last = 0;
            for c in cuts {
                pieces.push(&STREAM[last..c]);
                last = c;
            }
            pieces.push(&STREAM[last..]);
            prop_assert_eq!(split_all(&pieces, 1024), (expected(), 0));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = split_all(&[&bytes], 64);
        }
    }
}
