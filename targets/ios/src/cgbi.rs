//! Apple's CgBI PNG (what Xcode stores in an IPA) to a standard PNG: drop the CgBI chunk,
//! inflate the raw-deflate IDAT stream, undo the filters, swap BGRA to RGBA and undo the
//! alpha premultiplication, then write a plain PNG. Standard PNGs pass through unchanged.

use std::io::{Read, Write};

const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
/// Largest icon we convert (1024 x 1024 is the biggest Apple asks for).
const MAX_SIDE: u32 = 4096;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CgbiError {
    #[error("not a PNG")]
    NotPng,
    #[error("PNG chunk at offset {0} runs past the end")]
    Truncated(usize),
    #[error("PNG has no IHDR")]
    NoHeader,
    #[error("unsupported PNG form: {0}")]
    Unsupported(String),
    #[error("image data does not inflate: {0}")]
    Inflate(String),
    #[error("image data is corrupt: {0}")]
    Corrupt(&'static str),
}

struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
}

fn chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, CgbiError> {
    if !png.starts_with(PNG_SIGNATURE) {
        return Err(CgbiError::NotPng);
    }
    let mut out = Vec::new();
    let mut off = 8usize;
    while off < png.len() {
        let len = format_apple::bytes::be32(png, off).ok_or(CgbiError::Truncated(off))? as usize;
        let kind: [u8; 4] = png
            .get(off + 4..off + 8)
            .and_then(|k| k.try_into().ok())
            .ok_or(CgbiError::Truncated(off))?;
        let end = off
            .checked_add(12)
            .and_then(|v| v.checked_add(len))
            .filter(|&e| e <= png.len())
            .ok_or(CgbiError::Truncated(off))?;
        out.push(Chunk {
            kind,
            data: &png[off + 8..off + 8 + len],
        });
        off = end;
        if &kind == b"IEND" {
            break;
        }
    }
    Ok(out)
}

/// Converts `png` to a standard PNG. `max_bytes` caps the inflated pixel data.
pub fn to_standard_png(png: &[u8], max_bytes: u64) -> Result<Vec<u8>, CgbiError> {
    let chunks = chunks(png)?;
    if !chunks.iter().any(|c| &c.kind == b"CgBI") {
        // Already standard; check it has a header and pass it on.
        return if chunks.iter().any(|c| &c.kind == b"IHDR") {
            Ok(png.to_vec())
        } else {
            Err(CgbiError::NoHeader)
        };
    }
    let ihdr = chunks
        .iter()
        .find(|c| &c.kind == b"IHDR")
        .ok_or(CgbiError::NoHeader)?
        .data;
    if ihdr.len() != 13 {
        return Err(CgbiError::NoHeader);
    }
    let width = format_apple::bytes::be32(ihdr, 0).ok_or(CgbiError::NoHeader)?;
    let height = format_apple::bytes::be32(ihdr, 4).ok_or(CgbiError::NoHeader)?;
    let (depth, color, interlace) = (ihdr[8], ihdr[9], ihdr[12]);
    let bpp = match (depth, color) {
        (8, 6) => 4usize,
        (8, 2) => 3usize,
        _ => {
            return Err(CgbiError::Unsupported(format!(
                "bit depth {depth}, colour type {color}"
            )));
        }
    };
    if interlace != 0 {
        return Err(CgbiError::Unsupported("interlaced".into()));
    }
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(CgbiError::Unsupported(format!("{width} x {height} pixels")));
    }
    let stride = width as usize * bpp;
    let expected = (stride + 1) * height as usize;
    if expected as u64 > max_bytes {
        return Err(CgbiError::Unsupported("image larger than the limit".into()));
    }
    let idat: Vec<u8> = chunks
        .iter()
        .filter(|c| &c.kind == b"IDAT")
        .flat_map(|c| c.data.iter().copied())
        .collect();
    let mut raw = Vec::with_capacity(expected);
    flate2::read::DeflateDecoder::new(&idat[..])
        .take(expected as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| CgbiError::Inflate(e.to_string()))?;
    if raw.len() != expected {
        return Err(CgbiError::Corrupt(
            "inflated size does not match the header",
        ));
    }
    let mut pixels = unfilter(&raw, stride, height as usize, bpp)?;
    for px in pixels.chunks_exact_mut(bpp) {
        px.swap(0, 2);
        if bpp == 4 {
            let a = px[3] as u32;
            if a > 0 && a < 255 {
                for c in &mut px[..3] {
                    *c = ((*c as u32 * 255 + a / 2) / a).min(255) as u8;
                }
            }
        }
    }
    // Re-encode: filter type 0 on every row, zlib-wrapped.
    let mut filtered = Vec::with_capacity(expected);
    for row in pixels.chunks_exact(stride) {
        filtered.push(0);
        filtered.extend_from_slice(row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&filtered)
        .map_err(|e| CgbiError::Inflate(e.to_string()))?;
    let zdata = z.finish().map_err(|e| CgbiError::Inflate(e.to_string()))?;
    let mut out = PNG_SIGNATURE.to_vec();
    write_chunk(&mut out, b"IHDR", ihdr);
    write_chunk(&mut out, b"IDAT", &zdata);
    write_chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

fn unfilter(raw: &[u8], stride: usize, height: usize, bpp: usize) -> Result<Vec<u8>, CgbiError> {
    let mut out = vec![0u8; stride * height];
    for y in 0..height {
        let line = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
        let (ftype, src) = (line[0], &line[1..]);
        let (prev, cur) = out.split_at_mut(y * stride);
        let up: &[u8] = if y == 0 {
            &[]
        } else {
            &prev[(y - 1) * stride..]
        };
        let cur = &mut cur[..stride];
        for x in 0..stride {
            let a = if x >= bpp { cur[x - bpp] as i16 } else { 0 };
            let b = up.get(x).copied().unwrap_or(0) as i16;
            let c = if x >= bpp {
                up.get(x - bpp).copied().unwrap_or(0) as i16
            } else {
                0
            };
            let pred = match ftype {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                _ => return Err(CgbiError::Corrupt("unknown filter type")),
            };
            cur[x] = src[x].wrapping_add(pred as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a CgBI PNG the way Xcode does: BGRA, premultiplied, raw deflate, CgBI first.
    fn make_cgbi(w: u32, h: u32, rgba: &[[u8; 4]]) -> Vec<u8> {
        let mut rows = Vec::new();
        for y in 0..h as usize {
            rows.push(1); // Sub filter, to exercise unfiltering
            let row: Vec<u8> = (0..w as usize)
                .flat_map(|x| {
                    let [r, g, b, a] = rgba[y * w as usize + x];
                    let pm = |c: u8| ((c as u32 * a as u32 + 127) / 255) as u8;
                    [pm(b), pm(g), pm(r), a]
                })
                .collect();
            for x in 0..row.len() {
                let pred = if x >= 4 { row[x - 4] } else { 0 };
                rows.push(row[x].wrapping_sub(pred));
            }
        }
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(&rows).unwrap();
        let idat = d.finish().unwrap();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        let mut out = PNG_SIGNATURE.to_vec();
        write_chunk(&mut out, b"CgBI", &[0x50, 0, 0x20, 2]);
        write_chunk(&mut out, b"IHDR", &ihdr);
        write_chunk(&mut out, b"IDAT", &idat);
        write_chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn converts_cgbi() {
        let px = [[255, 0, 0, 255], [0, 0, 255, 128], [10, 20, 30, 0]];
        let png = make_cgbi(3, 1, &px);
        let out = to_standard_png(&png, 1 << 20).unwrap();
        let chunks = chunks(&out).unwrap();
        assert!(!chunks.iter().any(|c| &c.kind == b"CgBI"));
        let idat: Vec<u8> = chunks
            .iter()
            .filter(|c| &c.kind == b"IDAT")
            .flat_map(|c| c.data.to_vec())
            .collect();
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw[0], 0);
        assert_eq!(&raw[1..5], &[255, 0, 0, 255]);
        // 255 * 128 / 255 = 128 premultiplied, back to 255 within rounding.
        assert_eq!(&raw[5..9], &[0, 0, 255, 128]);
        assert_eq!(raw[12], 0);
    }

    #[test]
    fn standard_png_passes_and_garbage_fails() {
        let mut p = PNG_SIGNATURE.to_vec();
        write_chunk(&mut p, b"IHDR", &[0; 13]);
        write_chunk(&mut p, b"IEND", &[]);
        assert_eq!(to_standard_png(&p, 1 << 20).unwrap(), p);
        assert_eq!(to_standard_png(b"nope", 1 << 20), Err(CgbiError::NotPng));
        let cut = &make_cgbi(3, 1, &[[1, 2, 3, 4]; 3])[..40];
        assert!(to_standard_png(cut, 1 << 20).is_err());
    }
}
