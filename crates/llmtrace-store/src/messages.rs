//! Messages stored once: each distinct chat message of a project is kept once in the store's
//! message table, content-addressed, and a stored span detail refers to it by hash.
//!
//! An agent resends its whole conversation on every model call, so a trace of N calls carries
//! O(N²) message bytes; kept once, it stores each message once and a short reference per use.
//! Both stores share this module: which messages go to the table, their hash, their stored
//! form, and putting a span's messages back on read.
//!
//! A message's hash is the first 16 bytes of the SHA-256 of its JSON (role, parts, name and
//! finish reason: two messages that differ in any of them are different rows). Messages whose
//! JSON is shorter than [`STORE_MIN_BYTES`] stay inline in the span's detail: a reference and a
//! table row cost more than they do.
//!
//! The raw attributes a dialect's messages were parsed from (`gen_ai.input.messages` holds the
//! whole history as one JSON array string) are kept exactly as sent, and grow the same way: a
//! long string attribute that is a JSON array is stored as its elements' exact text, each
//! element a row of the same table (content-addressed by its bytes), so the value reads back
//! byte for byte ([`AttrRef`]).

use llmtrace_model::{AttrValue, Attributes, GenAi, Message, MessagePart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A message at least this long ([`message_size`]: its texts, about its JSON's length) goes to
/// the message table; a shorter one stays inline.
pub const STORE_MIN_BYTES: usize = 1024;

/// The content address of a message: 16 bytes of the SHA-256 of its JSON.
pub type MessageHash = [u8; 16];

/// Rows read back from a message table: their JSON text by hash.
pub type Bodies = HashMap<MessageHash, Vec<u8>>;

/// A string attribute at least this long that is a JSON array is stored by its elements.
pub const ATTRIBUTE_MIN_BYTES: usize = 2 * STORE_MIN_BYTES;

/// A string attribute stored by its JSON array's elements: the value is `[`, the elements
/// joined by `sep`, `]`; the stored attribute at `at` holds an empty string in its place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrRef {
    /// The attribute's index in the span's attribute list.
    pub at: usize,
    /// The separator between elements, exactly as sent (`,` or `, `).
    pub sep: String,
    /// The elements, in order.
    pub parts: Vec<AttrPart>,
}

/// One element of an [`AttrRef`]: the hex hash of its text in the message table, or the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrPart {
    /// The hex of the element text's [`MessageHash`].
    Ref(String),
    /// A short element, inline.
    Inline {
        /// The element's exact text.
        t: String,
    },
}

/// A message as a stored span detail holds it: the hex hash of a row of the project's message
/// table, or the message itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredMessage {
    /// The hex of the message's [`MessageHash`].
    Ref(String),
    /// The message, inline.
    Inline(Message),
}

/// One row of a project's message table: the hash and the message's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    /// The content address.
    pub hash: MessageHash,
    /// The message's JSON.
    pub body: Vec<u8>,
}

/// A span's input and output messages in their stored form.
#[derive(Debug, Default)]
pub struct SplitMessages {
    /// The input messages, in order.
    pub input: Vec<StoredMessage>,
    /// The output messages, in order.
    pub output: Vec<StoredMessage>,
}

/// The hash of a message's JSON.
pub fn message_hash(json: &[u8]) -> MessageHash {
    let digest = Sha256::digest(json);
    let mut hash = [0u8; 16];
    for (to, from) in hash.iter_mut().zip(digest.iter()) {
        *to = *from;
    }
    hash
}

/// The attributes in their stored form when some go by their elements (`None`: kept as they
/// are), with the references, appending the element rows to `rows`.
fn split_attributes(
    attributes: &Attributes,
    rows: &mut Vec<MessageRow>,
) -> (Option<Attributes>, Vec<AttrRef>) {
    let mut refs = Vec::new();
    for (at, kv) in attributes.0.iter().enumerate() {
        let AttrValue::Str(value) = &kv.value else {
            continue;
        };
        if value.len() < ATTRIBUTE_MIN_BYTES || !value.starts_with('[') {
            continue;
        }
        if let Some(attr_ref) = split_array(at, value, rows) {
            refs.push(attr_ref);
        }
    }
    if refs.is_empty() {
        return (None, refs);
    }
    let mut stored = attributes.clone();
    for r in &refs {
        if let Some(kv) = stored.0.get_mut(r.at) {
            kv.value = AttrValue::Str(String::new());
        }
    }
    (Some(stored), refs)
}

/// `value` as its JSON array's elements, when it is one of at least two elements that joins
/// back to exactly `value` with one separator.
fn split_array(at: usize, value: &str, rows: &mut Vec<MessageRow>) -> Option<AttrRef> {
    let elements: Vec<&serde_json::value::RawValue> = serde_json::from_str(value).ok()?;
    if elements.len() < 2 {
        return None;
    }
    let sep = [",", ", "].into_iter().find(|sep| {
        let mut joined = String::with_capacity(value.len());
        joined.push('[');
        for (i, e) in elements.iter().enumerate() {
            if i > 0 {
                joined.push_str(sep);
            }
            joined.push_str(e.get());
        }
        joined.push(']');
        joined == value
    })?;
    if elements.iter().all(|e| e.get().len() < STORE_MIN_BYTES) {
        return None;
    }
    let parts = elements
        .iter()
        .map(|e| {
            let text = e.get();
            if text.len() < STORE_MIN_BYTES {
                return AttrPart::Inline { t: text.into() };
            }
            let hash = message_hash(text.as_bytes());
            rows.push(MessageRow {
                hash,
                body: text.as_bytes().to_vec(),
            });
            AttrPart::Ref(hex::encode(hash))
        })
        .collect();
    Some(AttrRef {
        at,
        sep: sep.into(),
        parts,
    })
}

/// The hashes `refs` refer to, appended to `out`.
pub fn attribute_refs_of(refs: &[AttrRef], out: &mut Vec<MessageHash>) -> Result<(), String> {
    for r in refs {
        for p in &r.parts {
            if let AttrPart::Ref(h) = p {
                out.push(parse_hash(h)?);
            }
        }
    }
    Ok(())
}

/// Puts the values `refs` describe back into `attributes`, from `bodies`.
pub fn resolve_attributes(
    attributes: &mut Attributes,
    refs: Vec<AttrRef>,
    bodies: &Bodies,
) -> Result<(), String> {
    for r in refs {
        let mut value = String::from('[');
        for (i, part) in r.parts.iter().enumerate() {
            if i > 0 {
                value.push_str(&r.sep);
            }
            match part {
                AttrPart::Inline { t } => value.push_str(t),
                AttrPart::Ref(h) => {
                    let body = bodies
                        .get(&parse_hash(h)?)
                        .ok_or_else(|| format!("stored attribute element {h} is missing"))?;
                    value.push_str(
                        std::str::from_utf8(body)
                            .map_err(|e| format!("stored attribute element {h}: {e}"))?,
                    );
                }
            }
        }
        value.push(']');
        let kv = attributes
            .0
            .get_mut(r.at)
            .ok_or_else(|| format!("stored attribute {} is missing", r.at))?;
        kv.value = AttrValue::Str(value);
    }
    Ok(())
}

/// A span's messages and attributes in their stored form, when some go to the message table.
#[derive(Debug)]
pub struct StoredParts {
    /// The GenAI fields without the input and output messages.
    pub gen_ai: GenAi,
    /// The input and output messages.
    pub messages: SplitMessages,
    /// The attributes with the values stored by their elements emptied, when there are some.
    pub attributes: Option<Attributes>,
    /// The attributes stored by their elements.
    pub attribute_refs: Vec<AttrRef>,
}

/// How long a message counts for the table: the bytes of its texts, and the JSON of its other
/// parts (a cheap measure, deterministic for a message, close to its JSON's length).
fn message_size(m: &Message) -> usize {
    m.parts.iter().fold(m.role.len(), |n, p| {
        n.saturating_add(match p {
            MessagePart::Text { content } | MessagePart::Reasoning { content } => content.len(),
            other => serde_json::to_string(other).map_or(0, |j| j.len()),
        })
    })
}

/// The stored form of a span with GenAI fields `gen_ai` and `attributes`, appending the rows
/// its references need to `rows`; `None` when no message is long enough for the table (the
/// detail then keeps everything inline, as a span without messages does). The attributes are
/// split by their elements only on spans whose messages go to the table.
pub fn split_span(
    gen_ai: &GenAi,
    attributes: &Attributes,
    rows: &mut Vec<MessageRow>,
) -> Result<Option<StoredParts>, String> {
    let long = |m: &Message| message_size(m) >= STORE_MIN_BYTES;
    if !gen_ai.input_messages.iter().any(long) && !gen_ai.output_messages.iter().any(long) {
        return Ok(None);
    }
    let mut one = |m: &Message| -> Result<StoredMessage, String> {
        if !long(m) {
            return Ok(StoredMessage::Inline(m.clone()));
        }
        let body = serde_json::to_vec(m).map_err(|e| e.to_string())?;
        let hash = message_hash(&body);
        rows.push(MessageRow { hash, body });
        Ok(StoredMessage::Ref(hex::encode(hash)))
    };
    let messages = SplitMessages {
        input: gen_ai
            .input_messages
            .iter()
            .map(&mut one)
            .collect::<Result<_, _>>()?,
        output: gen_ai
            .output_messages
            .iter()
            .map(&mut one)
            .collect::<Result<_, _>>()?,
    };
    let (attributes, attribute_refs) = split_attributes(attributes, rows);
    Ok(Some(StoredParts {
        gen_ai: gen_ai.without_messages(),
        messages,
        attributes,
        attribute_refs,
    }))
}

/// The hashes `messages` refer to, appended to `out`.
pub fn refs_of(messages: &[StoredMessage], out: &mut Vec<MessageHash>) -> Result<(), String> {
    for m in messages {
        if let StoredMessage::Ref(h) = m {
            out.push(parse_hash(h)?);
        }
    }
    Ok(())
}

/// A hash from its hex.
pub fn parse_hash(hex_hash: &str) -> Result<MessageHash, String> {
    let mut hash = [0u8; 16];
    hex::decode_to_slice(hex_hash, &mut hash)
        .map_err(|e| format!("stored message reference {hex_hash:?}: {e}"))?;
    Ok(hash)
}

/// The messages of `stored`, references replaced by the message bodies in `bodies`.
pub fn resolve(stored: Vec<StoredMessage>, bodies: &Bodies) -> Result<Vec<Message>, String> {
    stored
        .into_iter()
        .map(|m| match m {
            StoredMessage::Inline(m) => Ok(m),
            StoredMessage::Ref(h) => parse_body(
                bodies
                    .get(&parse_hash(&h)?)
                    .ok_or_else(|| format!("stored message {h} is missing"))?,
            ),
        })
        .collect()
}

/// A stored message body as a message.
pub fn parse_body(body: &[u8]) -> Result<Message, String> {
    serde_json::from_slice(body).map_err(|e| format!("stored message unreadable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(role: &str, n: usize) -> Message {
        Message::text(role, "word ".repeat(n))
    }

    #[test]
    fn long_messages_go_to_the_table_and_come_back() {
        let gen_ai = GenAi {
            input_messages: vec![long("system", 300), Message::text("user", "hi")],
            output_messages: vec![long("assistant", 250)],
            request_model: Some("gpt-4o".into()),
            ..Default::default()
        };
        let mut rows = Vec::new();
        let parts = split_span(&gen_ai, &Attributes::default(), &mut rows)
            .unwrap()
            .expect("long messages go to the table");
        assert_eq!(parts.gen_ai.request_model.as_deref(), Some("gpt-4o"));
        assert!(parts.gen_ai.input_messages.is_empty() && parts.attributes.is_none());
        let split = parts.messages;
        assert_eq!(rows.len(), 2);
        assert!(matches!(split.input[0], StoredMessage::Ref(_)));
        assert!(matches!(split.input[1], StoredMessage::Inline(_)));
        let bodies: Bodies = rows.iter().map(|r| (r.hash, r.body.clone())).collect();
        assert_eq!(
            resolve(split.input, &bodies).unwrap(),
            gen_ai.input_messages
        );
        assert_eq!(
            resolve(split.output, &bodies).unwrap(),
            gen_ai.output_messages
        );
        assert!(
            resolve(vec![StoredMessage::Ref(hex::encode([7u8; 16]))], &bodies)
                .unwrap_err()
                .contains("missing")
        );
    }

    #[test]
    fn the_table_threshold_is_exact_at_its_limit() {
        // `message_size`: the role and the texts.
        let sized = |n: usize| Message::text("user", "x".repeat(n - "user".len()));
        for (size, to_table) in [(STORE_MIN_BYTES - 1, false), (STORE_MIN_BYTES, true)] {
            let gen_ai = GenAi {
                input_messages: vec![sized(size)],
                ..Default::default()
            };
            let mut rows = Vec::new();
            let parts = split_span(&gen_ai, &Attributes::default(), &mut rows).unwrap();
            assert_eq!(parts.is_some(), to_table, "{size} bytes");
            assert_eq!(rows.len(), usize::from(to_table));
        }
        // An array attribute shorter than its limit stays whole even with a long element.
        let element = format!(r#"{{"c":"{}"}}"#, "y".repeat(STORE_MIN_BYTES));
        for (len, split) in [
            (ATTRIBUTE_MIN_BYTES - 1, false),
            (ATTRIBUTE_MIN_BYTES, true),
        ] {
            let pad = len - element.len() - 3;
            let value = format!("[{element},\"{}\"]", "z".repeat(pad - 2));
            assert_eq!(value.len(), len);
            let attributes = Attributes(vec![llmtrace_model::KeyValue {
                key: "a".into(),
                value: AttrValue::Str(value),
            }]);
            let (_, refs) = split_attributes(&attributes, &mut Vec::new());
            assert_eq!(!refs.is_empty(), split, "{len} bytes");
        }
    }

    #[test]
    fn the_hash_covers_role_parts_name_and_finish_reason() {
        let base = long("user", 300);
        let hash = |m: &Message| message_hash(&serde_json::to_vec(m).unwrap());
        let mut named = base.clone();
        named.name = Some("bob".into());
        let mut finished = base.clone();
        finished.finish_reason = Some("stop".into());
        let other_role = Message {
            role: "assistant".into(),
            ..base.clone()
        };
        let hashes = [
            hash(&base),
            hash(&named),
            hash(&finished),
            hash(&other_role),
        ];
        for (i, a) in hashes.iter().enumerate() {
            for b in hashes.iter().skip(i + 1) {
                assert_ne!(a, b);
            }
        }
        assert_eq!(hash(&base), hash(&base.clone()));
    }

    #[test]
    fn short_messages_stay_inline_and_old_details_read_as_inline() {
        let gen_ai = GenAi {
            input_messages: vec![Message::text("user", "hi")],
            ..Default::default()
        };
        let mut rows = Vec::new();
        assert!(split_span(&gen_ai, &Attributes::default(), &mut rows)
            .unwrap()
            .is_none());
        assert!(rows.is_empty());
        let old: Vec<StoredMessage> =
            serde_json::from_str(r#"[{"role":"user","parts":[{"type":"text","content":"x"}]}]"#)
                .unwrap();
        assert!(matches!(old[0], StoredMessage::Inline(_)));
        assert!(parse_hash("zz").is_err());
    }

    #[test]
    fn long_json_array_attributes_go_by_their_elements_and_read_back_exactly() {
        use llmtrace_model::KeyValue;
        let element = |i: usize| format!(r#"{{"role": "user", "content": "{}"}}"#, "x".repeat(i));
        let array =
            |sep: &str| format!("[{}]", [element(1500), element(3), element(1200)].join(sep));
        let kv = |key: &str, value: String| KeyValue {
            key: key.into(),
            value: AttrValue::Str(value),
        };
        let attributes = Attributes(vec![
            kv("compact", array(",")),
            kv("python", array(", ")),
            kv("spaced", array(" , ")),
            kv("short", "[1,2]".into()),
            kv("text", "y".repeat(3000)),
            kv("one", format!("[{}]", element(3000))),
            kv(
                "short elements",
                format!("[{}]", [element(900), element(900), element(900)].join(",")),
            ),
        ]);
        let mut rows = Vec::new();
        let (stored, refs) = split_attributes(&attributes, &mut rows);
        let mut stored = stored.unwrap();
        assert_eq!(
            refs.iter().map(|r| r.at).collect::<Vec<_>>(),
            vec![0, 1],
            "only arrays of several elements that join back exactly"
        );
        assert_eq!(rows.len(), 4, "two long elements per array");
        assert_eq!(
            rows[0].hash, rows[2].hash,
            "the same element text is one row"
        );
        assert_eq!(stored.0[0].value, AttrValue::Str(String::new()));
        assert_eq!(stored.0[2], attributes.0[2]);
        let bodies: Bodies = rows.iter().map(|r| (r.hash, r.body.clone())).collect();
        let mut missing = stored.clone();
        assert!(resolve_attributes(&mut missing, refs.clone(), &Bodies::new()).is_err());
        resolve_attributes(&mut stored, refs, &bodies).unwrap();
        assert_eq!(stored, attributes);
        let mut refs_seen = Vec::new();
        let (_, again) = split_attributes(&attributes, &mut Vec::new());
        attribute_refs_of(&again, &mut refs_seen).unwrap();
        assert_eq!(refs_seen.len(), 4);
    }
}
