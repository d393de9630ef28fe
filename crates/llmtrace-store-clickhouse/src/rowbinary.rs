//! Encoding insert rows in ClickHouse's `RowBinary` format with serde: each field of a row
//! struct is one column, in order (a `#[serde(flatten)]` field's fields in its place), encoded
//! as ClickHouse reads its type: `UInt8`/`UInt32`/`UInt64`/`Int64` little-endian, `String` a
//! LEB128 length and the bytes, `Nullable(T)` a null byte then `T`, `Array(T)` a LEB128 count
//! then the items (`LowCardinality(String)` reads as `String`, `DateTime` as `UInt32`). The
//! column names are collected from the first row, for the insert's column list.
//!
//! Written here because the `clickhouse` crate keeps its encoder to its own client (we talk
//! HTTP through our `client.rs`, which handles 18.16 and failover), and `RowBinary` is a few
//! dozen lines. Against `JSONEachRow` it saves escaping every JSON column a second time on our
//! side and parsing text on ClickHouse's (see `BENCHMARKS.md`).

use serde::ser::{self, Serialize};
use std::fmt;

/// Why a row could not be encoded (a Rust type with no `RowBinary` meaning here).
#[derive(Debug)]
pub(crate) struct EncodeError(String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

impl ser::Error for EncodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        EncodeError(msg.to_string())
    }
}

/// Rows encoded for one `INSERT ... FORMAT RowBinary`.
pub(crate) struct Encoded {
    /// The columns, as named by the first row's fields.
    pub(crate) columns: Vec<String>,
    /// The rows' bytes.
    pub(crate) body: Vec<u8>,
}

/// Encodes `rows` (structs whose fields are the table's columns).
pub(crate) fn encode<T: Serialize>(rows: &[T]) -> Result<Encoded, EncodeError> {
    let mut out = Encoded {
        columns: Vec::new(),
        body: Vec::with_capacity(rows.len().saturating_mul(256)),
    };
    for (i, row) in rows.iter().enumerate() {
        let mut ser = RowSerializer {
            out: &mut out.body,
            columns: (i == 0).then_some(&mut out.columns),
            depth: 0,
        };
        row.serialize(&mut ser)?;
    }
    Ok(out)
}

fn leb128(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct RowSerializer<'a> {
    out: &'a mut Vec<u8>,
    /// Where to record column names (first row only).
    columns: Option<&'a mut Vec<String>>,
    /// Nesting: 0 outside the row, 1 in the row's fields.
    depth: u32,
}

impl RowSerializer<'_> {
    fn column(&mut self, name: &str) {
        if self.depth == 1 {
            if let Some(c) = self.columns.as_mut() {
                c.push(name.to_string());
            }
        }
    }

    fn unsupported<T>(what: &str) -> Result<T, EncodeError> {
        Err(EncodeError(format!("RowBinary: no encoding for {what}")))
    }
}

/// `serialize_*` methods writing a number's little-endian bytes (how `RowBinary` stores the
/// fixed-width numbers).
macro_rules! little_endian {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<(), EncodeError> {
            self.out.extend_from_slice(&v.to_le_bytes());
            Ok(())
        })*
    };
}

impl<'a, 'b> ser::Serializer for &'a mut RowSerializer<'b> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = ser::Impossible<(), EncodeError>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = ser::Impossible<(), EncodeError>;

    fn serialize_bool(self, v: bool) -> Result<(), EncodeError> {
        self.out.push(u8::from(v));
        Ok(())
    }
    little_endian! {
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
        serialize_f32: f32, serialize_f64: f64,
    }
    fn serialize_u8(self, v: u8) -> Result<(), EncodeError> {
        self.out.push(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), EncodeError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        self.serialize_bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        leb128(self.out, v.len() as u64);
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), EncodeError> {
        self.out.push(1);
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), EncodeError> {
        self.out.push(0);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), EncodeError> {
        RowSerializer::unsupported("()")
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), EncodeError> {
        RowSerializer::unsupported(name)
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), EncodeError> {
        RowSerializer::unsupported(name)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), EncodeError> {
        RowSerializer::unsupported(name)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, EncodeError> {
        let Some(len) = len else {
            return RowSerializer::unsupported("a sequence of unknown length");
        };
        leb128(self.out, len as u64);
        self.depth = self.depth.saturating_add(1);
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, EncodeError> {
        self.depth = self.depth.saturating_add(1);
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, EncodeError> {
        self.depth = self.depth.saturating_add(1);
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        RowSerializer::unsupported(name)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, EncodeError> {
        // Only a row with a flattened field is a map (serde writes the whole row as one).
        if self.depth != 0 {
            return RowSerializer::unsupported("a map inside a row");
        }
        self.depth = self.depth.saturating_add(1);
        Ok(self)
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Self, EncodeError> {
        if self.depth != 0 {
            return RowSerializer::unsupported(name);
        }
        self.depth = self.depth.saturating_add(1);
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        RowSerializer::unsupported(name)
    }
}

impl ser::SerializeSeq for &mut RowSerializer<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }
}

impl ser::SerializeTuple for &mut RowSerializer<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }
}

impl ser::SerializeTupleStruct for &mut RowSerializer<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }
}

impl ser::SerializeStruct for &mut RowSerializer<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.column(key);
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }
}

/// A flattened row: serde gives each field as a map entry whose key is the field name.
impl ser::SerializeMap for &mut RowSerializer<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), EncodeError> {
        // Names are only wanted from the first row.
        if self.depth == 1 && self.columns.is_some() {
            // serde_json's value serializer reads the key (a string) for us.
            let name = key
                .serialize(serde_json::value::Serializer)
                .map_err(|e| EncodeError(e.to_string()))?;
            let serde_json::Value::String(name) = name else {
                return RowSerializer::unsupported("a non-string key");
            };
            self.column(&name);
        }
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), EncodeError> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), EncodeError> {
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Inner {
        t_start: u64,
        t_user: String,
    }

    #[derive(Serialize)]
    struct Row<'a> {
        project: &'a str,
        #[serde(flatten)]
        inner: Inner,
        price: Option<i64>,
        none: Option<String>,
        t_services: Vec<String>,
        expire_at: u32,
        kind: u8,
    }

    #[test]
    fn rows_encode_as_clickhouse_reads_them() {
        let rows = [Row {
            project: "p",
            inner: Inner {
                t_start: 258,
                t_user: "é".into(),
            },
            price: Some(-1),
            none: None,
            t_services: vec!["a".into(), "bc".into()],
            expire_at: 1,
            kind: 7,
        }];
        let e = encode(&rows).unwrap();
        assert_eq!(
            e.columns,
            [
                "project",
                "t_start",
                "t_user",
                "price",
                "none",
                "t_services",
                "expire_at",
                "kind"
            ]
        );
        let mut want = vec![1, b'p'];
        want.extend_from_slice(&258u64.to_le_bytes());
        want.extend_from_slice(&[2, 0xc3, 0xa9]);
        want.push(0);
        want.extend_from_slice(&(-1i64).to_le_bytes());
        want.push(1);
        want.extend_from_slice(&[2, 1, b'a', 2, b'b', b'c']);
        want.extend_from_slice(&1u32.to_le_bytes());
        want.push(7);
        assert_eq!(e.body, want);
        // Columns come from the first row only.
        let two = encode(&[&rows[0], &rows[0]]).unwrap();
        assert_eq!(two.columns.len(), 8);
        assert_eq!(two.body.len(), 2 * want.len());
    }

    #[test]
    fn long_strings_get_multi_byte_lengths() {
        let mut out = Vec::new();
        leb128(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        let s = "x".repeat(200);
        let e = encode(&[(s.as_str(),)]).unwrap();
        assert_eq!(&e.body[..2], &[200, 1]);
        assert_eq!(e.body.len(), 202);
    }
}
