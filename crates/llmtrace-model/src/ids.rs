//! Trace and span ids: fixed-size byte arrays shown as lowercase hex.

use std::fmt;

/// Why a trace or span id is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id has the wrong number of bytes.
    #[error("{what} must be {expected} bytes, got {got}")]
    WrongLength {
        /// "trace_id" or "span_id".
        what: &'static str,
        /// Required length in bytes.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// The id is all zero bytes, which OTLP defines as invalid.
    #[error("{0} is all zeros")]
    AllZero(&'static str),
    /// The id is not valid hexadecimal.
    #[error("{0} is not valid hex")]
    NotHex(&'static str),
}

macro_rules! define_id {
    ($name:ident, $len:expr, $what:expr, $doc:expr) => {
        #[doc = $doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Builds an id from raw bytes, rejecting a wrong length or an all-zero id.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
                let arr: [u8; $len] = bytes.try_into().map_err(|_| IdError::WrongLength {
                    what: $what,
                    expected: $len,
                    got: bytes.len(),
                })?;
                if arr.iter().all(|b| *b == 0) {
                    return Err(IdError::AllZero($what));
                }
                Ok(Self(arr))
            }

            /// Parses lowercase or uppercase hex, rejecting a wrong length or an all-zero id.
            pub fn from_hex(s: &str) -> Result<Self, IdError> {
                let bytes = hex::decode(s).map_err(|_| IdError::NotHex($what))?;
                Self::from_bytes(&bytes)
            }

            /// Lowercase hex form.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// A narrow integer index key: the id folded to eight bytes (XOR of its 8-byte
            /// halves), read as a big-endian signed integer. Folding keeps the key selective for
            /// 64-bit ids zero-padded at either end (Jaeger and Zipkin style).
            pub fn key_i64(&self) -> i64 {
                let mut b = [0u8; 8];
                for (i, x) in self.0.iter().enumerate() {
                    b[i % 8] ^= x;
                }
                i64::from_be_bytes(b)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                Self::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

define_id!(TraceId, 16, "trace_id", "A 16-byte trace id.");
define_id!(SpanId, 8, "span_id", "An 8-byte span id.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_validation() {
        let t = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap();
        assert_eq!(t.to_hex(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(
            TraceId::from_hex("00000000000000000000000000000000"),
            Err(IdError::AllZero("trace_id"))
        );
        assert!(matches!(
            SpanId::from_bytes(&[1, 2, 3]),
            Err(IdError::WrongLength { got: 3, .. })
        ));
        assert_eq!(SpanId::from_hex("zz"), Err(IdError::NotHex("span_id")));
        assert_eq!(SpanId::from_hex("0000000000000001").unwrap().key_i64(), 1);
    }
}
