//! Gzip decompression with a bound, so a small compressed body cannot expand without limit.

use crate::DecodeError;
use std::io::Read;

/// Decompresses a gzip body, failing with [`DecodeError::TooLarge`] as soon as the output would
/// pass `max_bytes` (a gzip bomb stops there instead of filling memory).
pub fn gunzip_limited(data: &[u8], max_bytes: usize) -> Result<Vec<u8>, DecodeError> {
    let decoder = flate2::read::MultiGzDecoder::new(data);
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(max_bytes));
    let read = decoder
        .take(
            u64::try_from(max_bytes)
                .unwrap_or(u64::MAX)
                .saturating_add(1),
        )
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Gzip(e.to_string()))?;
    if read > max_bytes {
        return Err(DecodeError::TooLarge { limit: max_bytes });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn round_trips_and_bounds_output() {
        assert_eq!(gunzip_limited(&gz(b"hello"), 5).unwrap(), b"hello");
        let bomb = gz(&vec![0u8; 10 << 20]);
        assert!(bomb.len() < 100_000);
        assert!(matches!(
            gunzip_limited(&bomb, 1 << 20),
            Err(DecodeError::TooLarge { limit }) if limit == 1 << 20
        ));
        assert!(matches!(
            gunzip_limited(b"not gzip", 100),
            Err(DecodeError::Gzip(_))
        ));
    }
}
