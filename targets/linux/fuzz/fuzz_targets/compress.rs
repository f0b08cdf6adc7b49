//! The one decompression stack: one codec (chosen by the first byte, or sniffed) over the
//! rest of the input as a stream (within a budget) and as one block, so a bomb or a broken
//! stream is an error, never a panic or a hang. Squashfs's zlib blocks too.
#![no_main]
use std::io::Read;

use format_compress::{Codec, InflateBudget};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    let codec = match pick % 8 {
        0 => Codec::Gzip,
        1 => Codec::Xz,
        2 => Codec::Lzma,
        3 => Codec::Zstd,
        4 => Codec::Bzip2,
        5 => Codec::None,
        6 => {
            let budget = InflateBudget::new(1 << 22);
            let _ = format_compress::zlib_block(data, 1 << 20, &budget);
            return;
        }
        _ => Codec::sniff(data),
    };
    let budget = InflateBudget::new(1 << 22);
    if let Ok(mut r) = format_compress::decoder(codec, data, &budget) {
        let mut sink = [0u8; 64 * 1024];
        while let Ok(n) = r.read(&mut sink) {
            if n == 0 {
                break;
            }
        }
    }
    let budget = InflateBudget::new(1 << 22);
    let _ = format_compress::decompress_block(codec, data, 1 << 20, &budget);
});
