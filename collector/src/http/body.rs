//! Reading a request body within the size limit, decompressing it without ever holding more than the limit:
//! a decompression bomb stops expanding one byte past the limit.

use std::io::Read;

use axum::body::Body;
use http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::{Error, Result};

/// How the body was compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContentEncoding {
    Identity,
    Gzip,
    Deflate,
    Zstd,
}

impl ContentEncoding {
    fn of(headers: &HeaderMap) -> Result<ContentEncoding> {
        let Some(value) = headers.get(header::CONTENT_ENCODING) else {
            return Ok(ContentEncoding::Identity);
        };
        let name = value.to_str().unwrap_or("").trim();
        match name.to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(ContentEncoding::Identity),
            "gzip" | "x-gzip" => Ok(ContentEncoding::Gzip),
            "deflate" => Ok(ContentEncoding::Deflate),
            "zstd" => Ok(ContentEncoding::Zstd),
            _ => Err(Error::UnsupportedContentEncoding(name.to_owned())),
        }
    }
}

/// Returns the decompressed body and the number of bytes received on the wire.
pub async fn read(body: Body, headers: &HeaderMap, limit: usize) -> Result<(Vec<u8>, usize)> {
    let encoding = ContentEncoding::of(headers)?;
    let too_large = Error::TooLarge { limit: limit as u64 };
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > limit as u64) {
        return Err(too_large);
    }
    let received = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large),
        Err(error) => return Err(Error::Decode(format!("reading the request body: {error}"))),
    };
    let wire_length = received.len();
    let body = match encoding {
        ContentEncoding::Identity => received.into(),
        ContentEncoding::Gzip => {
            decompress(flate2::read::MultiGzDecoder::new(&received[..]), "gzip", limit)?
        }
        ContentEncoding::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(&received[..])
                .map_err(|e| Error::Decode(format!("invalid zstd body: {e}")))?;
            decompress(decoder, "zstd", limit)?
        }
        // HTTP's "deflate" is zlib-wrapped, but some clients send raw deflate: accept both.
        ContentEncoding::Deflate if looks_like_zlib(&received) => {
            decompress(flate2::read::ZlibDecoder::new(&received[..]), "deflate", limit)?
        }
        ContentEncoding::Deflate => {
            decompress(flate2::read::DeflateDecoder::new(&received[..]), "deflate", limit)?
        }
    };
    Ok((body, wire_length))
}

fn decompress(decoder: impl Read, name: &str, limit: usize) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| Error::Decode(format!("invalid {name} body: {e}")))?;
    if body.len() > limit {
        return Err(Error::TooLarge { limit: limit as u64 });
    }
    Ok(body)
}

/// RFC 1950: compression method 8 and a header checksum divisible by 31.
fn looks_like_zlib(data: &[u8]) -> bool {
    data.len() >= 2
        && data[0] & 0x0f == 8
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0
}
