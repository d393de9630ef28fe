//! Bounded zstd decompression of a whole request body (`Content-Encoding: zstd`).

use crate::Error;
use std::io::Read;

/// Largest zstd window accepted (2^24 = 16 MiB). The Python SDK compresses at level 1 (a
/// 512 KiB window); the bound keeps a hostile frame from making the decoder allocate 128 MiB or
/// more before the output limit applies.
const MAX_WINDOW_LOG: u32 = 24;

/// Decompresses a zstd body (one or several frames), failing with [`Error::TooLarge`] as soon
/// as the output would exceed `limit` bytes.
pub fn decompress_zstd(body: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    let mut decoder = zstd::stream::read::Decoder::with_buffer(body)
        .map_err(|e| Error::Decompress(e.to_string()))?;
    decoder
        .window_log_max(MAX_WINDOW_LOG)
        .map_err(|e| Error::Decompress(e.to_string()))?;
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let read_limit = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(read_limit)
        .read_to_end(&mut out)
        .map_err(|e| Error::Decompress(e.to_string()))?;
    if out.len() > limit {
        return Err(Error::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let data = b"--b\r\nhello\r\n".repeat(1000);
        let z = zstd::stream::encode_all(&data[..], 1).unwrap();
        assert_eq!(decompress_zstd(&z, data.len()).unwrap(), data);
        assert!(matches!(
            decompress_zstd(&z, data.len() - 1),
            Err(Error::TooLarge { .. })
        ));
        // Two concatenated frames decode as one body.
        let mut two = z.clone();
        two.extend_from_slice(&z);
        assert_eq!(
            decompress_zstd(&two, 1 << 20).unwrap().len(),
            2 * data.len()
        );
        assert!(matches!(
            decompress_zstd(b"not zstd at all", 1 << 20),
            Err(Error::Decompress(_))
        ));
    }
}
