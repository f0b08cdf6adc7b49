//! The one decompression stack for streams (docs/CRATES.md): gzip through `flate2`, xz and
//! lzma through `liblzma`, zstd through `zstd`, bzip2 through `bzip2`, and LZFSE blocks (disk
//! image chunks) through `lzfse_rust`. A stream is told apart
//! by its magic bytes, never by a file name, and every byte it yields is charged to the
//! inspection's [`InflateBudget`], so a bomb stops at the budget instead of burning CPU.
//!
//! It owns choosing and wrapping decoders only; what the decompressed bytes mean (a tar, a
//! cpio, a squashfs block) belongs to the caller. It never writes anything anywhere.

use std::io::{self, Read};

pub use format_zip::{Charged, InflateBudget, OverLimit, over_limit};

/// A compression format, identified by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Xz,
    /// The legacy `.lzma` (LZMA-alone) container: rpm payloads of old distributions.
    Lzma,
    Zstd,
    Bzip2,
    /// Not compressed.
    None,
}

impl Codec {
    /// The codec whose magic starts `head`; `None` (the variant) when no known magic does.
    pub fn sniff(head: &[u8]) -> Codec {
        if head.starts_with(&[0x1f, 0x8b]) {
            Codec::Gzip
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Codec::Xz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Codec::Zstd
        } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
        {
            Codec::Bzip2
        } else if head.len() >= 13 && head[0] == 0x5d && head[1..5] == [0, 0, 0x80, 0]
            || head.len() >= 13 && head[0] == 0x5d && head[5..13] == [0xff; 8]
        {
            Codec::Lzma
        } else {
            Codec::None
        }
    }

    /// The codec a name such as rpm's `PAYLOADCOMPRESSOR` or a member suffix names.
    pub fn from_name(name: &str) -> Option<Codec> {
        Some(match name {
            "gzip" | "gz" => Codec::Gzip,
            "xz" => Codec::Xz,
            "lzma" => Codec::Lzma,
            "zstd" | "zst" => Codec::Zstd,
            "bzip2" | "bz2" => Codec::Bzip2,
            "" | "none" | "identity" => Codec::None,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Xz => "xz",
            Codec::Lzma => "lzma",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::None => "none",
        }
    }
}

/// Why a decoder could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{codec} decoder: {source}")]
    Init {
        codec: &'static str,
        source: io::Error,
    },
}

/// Memory the xz and lzma decoders may take for their dictionary: a stream that asks for
/// more is refused (real packages use 8 to 64 MiB).
pub const MAX_LZMA_MEMORY: u64 = 256 << 20;

/// A reader of the decompressed bytes of `inner`, compressed as `codec`, charged to `budget`.
/// Uncompressed input is charged too: it is read as if decompressed, and bounds a listing
/// the same way.
pub fn decoder<'a, R: Read + 'a>(
    codec: Codec,
    inner: R,
    budget: &InflateBudget,
) -> Result<Box<dyn Read + 'a>, Error> {
    let r: Box<dyn Read + 'a> = match codec {
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(inner)),
        Codec::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                MAX_LZMA_MEMORY,
                liblzma::stream::CONCATENATED,
            )
            .map_err(|e| Error::Init {
                codec: "xz",
                source: e.into(),
            })?;
            Box::new(liblzma::read::XzDecoder::new_stream(inner, stream))
        }
        Codec::Lzma => {
            let stream =
                liblzma::stream::Stream::new_lzma_decoder(MAX_LZMA_MEMORY).map_err(|e| {
                    Error::Init {
                        codec: "lzma",
                        source: e.into(),
                    }
                })?;
            Box::new(liblzma::read::XzDecoder::new_stream(inner, stream))
        }
        Codec::Zstd => {
            Box::new(
                zstd::stream::read::Decoder::new(inner).map_err(|source| Error::Init {
                    codec: "zstd",
                    source,
                })?,
            )
        }
        Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(inner)),
        Codec::None => Box::new(inner),
    };
    Ok(Box::new(Charged::new(r, budget)))
}

/// Largest compressed pbzx chunk accepted: Apple's writer cuts the input into 16 MiB chunks,
/// and an incompressible one is stored, so a chunk is never much larger.
pub const MAX_PBZX_CHUNK: u64 = 32 << 20;

/// A reader of the decompressed bytes of a pbzx stream (a macOS installer package's Payload
/// as Apple's own tools write it: `pbzx`, a big-endian u64 of flags, then chunks, each a
/// big-endian u64 of its uncompressed size and one of its stored length, then an xz stream
/// or, when it does not start with xz's magic, the bytes themselves). Charged to `budget`.
/// One chunk (at most [`MAX_PBZX_CHUNK`] bytes) is held at a time.
pub fn pbzx<'a, R: Read + 'a>(inner: R, budget: &InflateBudget) -> Box<dyn Read + 'a> {
    Box::new(Charged::new(
        Pbzx {
            inner,
            started: false,
            chunk: None,
        },
        budget,
    ))
}

struct Pbzx<R: Read> {
    inner: R,
    started: bool,
    chunk: Option<Box<dyn Read>>,
}

fn pbzx_error(m: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("pbzx: {}", m.into()))
}

impl<R: Read> Pbzx<R> {
    /// Opens the next chunk; `false` at a clean end of the stream.
    fn next_chunk(&mut self) -> io::Result<bool> {
        if !self.started {
            let mut h = [0u8; 12];
            self.inner.read_exact(&mut h).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    pbzx_error("the stream ends inside its header")
                } else {
                    e
                }
            })?;
            if &h[..4] != b"pbzx" {
                return Err(pbzx_error("no pbzx magic"));
            }
            self.started = true;
        }
        // A chunk header, or the end of the stream exactly at a chunk boundary.
        let mut h = [0u8; 16];
        let mut got = 0;
        while got < h.len() {
            match self.inner.read(&mut h[got..])? {
                0 if got == 0 => return Ok(false),
                0 => return Err(pbzx_error("the stream ends inside a chunk header")),
                n => got += n,
            }
        }
        let length = u64::from_be_bytes(h[8..16].try_into().expect("8 bytes"));
        if length > MAX_PBZX_CHUNK {
            return Err(io::Error::other(OverLimit(format!(
                "a pbzx chunk of {length} bytes, more than the {MAX_PBZX_CHUNK} accepted"
            ))));
        }
        let mut data = Vec::with_capacity(length as usize);
        (&mut self.inner).take(length).read_to_end(&mut data)?;
        if (data.len() as u64) < length {
            return Err(pbzx_error("the stream ends inside a chunk"));
        }
        self.chunk = Some(if Codec::sniff(&data) == Codec::Xz {
            let stream = liblzma::stream::Stream::new_stream_decoder(MAX_LZMA_MEMORY, 0)
                .map_err(io::Error::other)?;
            Box::new(liblzma::read::XzDecoder::new_stream(
                io::Cursor::new(data),
                stream,
            ))
        } else {
            Box::new(io::Cursor::new(data))
        });
        Ok(true)
    }
}

impl<R: Read> Read for Pbzx<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(c) = self.chunk.as_mut() {
                let n = c.read(buf)?;
                if n > 0 {
                    return Ok(n);
                }
                self.chunk = None;
            }
            if !self.next_chunk()? {
                return Ok(0);
            }
        }
    }
}

/// Decompresses one whole block (a squashfs metadata or data block) into at most `max`
/// bytes, charged to `budget`. More than `max` is an error, not a truncation.
pub fn decompress_block(
    codec: Codec,
    data: &[u8],
    max: usize,
    budget: &InflateBudget,
) -> io::Result<Vec<u8>> {
    let r = decoder(codec, data, budget).map_err(io::Error::other)?;
    read_at_most(r, max)
}

/// Everything `r` yields, at most `max` bytes: more is an error, not a truncation.
fn read_at_most(r: impl Read, max: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(max.min(1 << 20));
    r.take(max as u64 + 1).read_to_end(&mut out)?;
    if out.len() > max {
        return Err(io::Error::other(OverLimit(format!(
            "a compressed block decompresses to more than {max} bytes"
        ))));
    }
    Ok(out)
}

/// Squashfs stores zlib (not gzip) streams; this is its decoder, on the same crate.
pub fn zlib_block(data: &[u8], max: usize, budget: &InflateBudget) -> io::Result<Vec<u8>> {
    read_at_most(
        Charged::new(flate2::read::ZlibDecoder::new(data), budget),
        max,
    )
}

/// Decompresses one LZFSE block (a disk image chunk) into at most `max` bytes, charged to
/// `budget`. More than `max` is an error, not a truncation.
pub fn lzfse_block(data: &[u8], max: usize, budget: &InflateBudget) -> io::Result<Vec<u8>> {
    let mut dec = lzfse_rust::LzfseRingDecoder::default();
    read_at_most(Charged::new(dec.reader_bytes(data), budget), max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn sniffs_and_decodes_gzip_and_charges_the_budget() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&[b'a'; 10_000]).unwrap();
        let gz = e.finish().unwrap();
        assert_eq!(Codec::sniff(&gz), Codec::Gzip);
        let budget = InflateBudget::new(20_000);
        let mut out = Vec::new();
        decoder(Codec::Gzip, &gz[..], &budget)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 10_000);
        assert_eq!(budget.used(), 10_000);
        let small = InflateBudget::new(100);
        let err = decoder(Codec::Gzip, &gz[..], &small)
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(over_limit(&err).is_some());
    }

    /// A pbzx stream of `chunks` (xz-compressed when `xz`), as Apple's writer lays it out.
    fn pbzx_of(chunks: &[(&[u8], bool)]) -> Vec<u8> {
        let mut out = b"pbzx".to_vec();
        out.extend_from_slice(&(1u64 << 24).to_be_bytes());
        for (plain, xz) in chunks {
            let stored = if *xz {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
                e.write_all(plain).unwrap();
                e.finish().unwrap()
            } else {
                plain.to_vec()
            };
            out.extend_from_slice(&(plain.len() as u64).to_be_bytes());
            out.extend_from_slice(&(stored.len() as u64).to_be_bytes());
            out.extend_from_slice(&stored);
        }
        out
    }

    #[test]
    fn pbzx_chunks_decode_in_order_and_a_cut_one_is_an_error() {
        let a = vec![b'a'; 70_000];
        let p = pbzx_of(&[(&a, true), (b"raw chunk", false), (b"tail", true)]);
        let budget = InflateBudget::new(1 << 20);
        let mut out = Vec::new();
        pbzx(&p[..], &budget).read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 70_000 + 9 + 4);
        assert!(out.ends_with(b"raw chunktail"));
        assert_eq!(budget.used(), out.len() as u64);
        for cut in [3, 14, 20, p.len() - 1] {
            let e = pbzx(&p[..cut], &budget)
                .read_to_end(&mut Vec::new())
                .unwrap_err();
            assert!(
                e.to_string().contains("pbzx: the stream ends"),
                "{cut}: {e}"
            );
        }
        let small = InflateBudget::new(1000);
        let e = pbzx(&p[..], &small)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(over_limit(&e).is_some(), "{e}");
        let mut huge = p[..12].to_vec();
        huge.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        huge.extend_from_slice(&(1u64 << 40).to_be_bytes());
        let e = pbzx(&huge[..], &budget)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(over_limit(&e).is_some(), "{e}");
    }

    #[test]
    fn lzfse_round_trip_bounded_and_charged() {
        let data = b"disk image chunk ".repeat(500);
        let mut enc = Vec::new();
        lzfse_rust::LzfseEncoder::default()
            .encode_bytes(&data, &mut enc)
            .unwrap();
        let budget = InflateBudget::new(1 << 20);
        assert_eq!(lzfse_block(&enc, data.len(), &budget).unwrap(), data);
        assert_eq!(budget.used(), data.len() as u64);
        assert!(lzfse_block(&enc, 100, &budget).is_err());
        assert!(lzfse_block(&enc[..enc.len() / 2], data.len(), &budget).is_err());
    }

    #[test]
    fn sniffs_every_magic() {
        assert_eq!(Codec::sniff(b"\xfd7zXZ\0rest"), Codec::Xz);
        assert_eq!(Codec::sniff(b"\x28\xb5\x2f\xfdxx"), Codec::Zstd);
        assert_eq!(Codec::sniff(b"BZh91AY"), Codec::Bzip2);
        assert_eq!(Codec::sniff(b"ustar"), Codec::None);
        assert_eq!(Codec::sniff(b""), Codec::None);
    }

    #[test]
    fn xz_and_zstd_round_trip() {
        let data = b"hello hello hello".repeat(100);
        let xz = {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        let zs = zstd::stream::encode_all(&data[..], 3).unwrap();
        let budget = InflateBudget::new(1 << 20);
        for (codec, bytes) in [(Codec::Xz, xz), (Codec::Zstd, zs)] {
            assert_eq!(Codec::sniff(&bytes), codec);
            let out = decompress_block(codec, &bytes, 1 << 20, &budget).unwrap();
            assert_eq!(out, data);
            assert!(decompress_block(codec, &bytes, 10, &budget).is_err());
        }
    }
}
