//! Deterministic mutations of a file: truncations, flipped bits and bytes, zeroed ranges,
//! huge declared lengths written over length fields, and (for zips) a doubled central
//! directory. The same seed gives the same mutations, so a failure reproduces by its name.

/// A small deterministic generator (xorshift64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// One mutated copy, named so that a failure says what was done where.
#[derive(Debug, Clone)]
pub struct Mutation {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// How many mutations of each random kind, and where the format keeps its lengths.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Random mutations per kind; truncations and bit flips get a quarter each, zeroed
    /// ranges, header byte flips and random huge lengths an eighth each.
    pub budget: usize,
    /// Offsets of u32 length fields the format keeps (Mach-O header fields, the APK
    /// Signing Block size): each gets the huge values.
    pub hot_spots: Vec<usize>,
}

impl Plan {
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            hot_spots: Vec::new(),
        }
    }

    pub fn with_hot_spots(mut self, spots: impl IntoIterator<Item = usize>) -> Self {
        self.hot_spots.extend(spots);
        self
    }
}

/// Huge values written over a u32 field: all ones, and i32::MAX in either byte order.
const HUGE: [[u8; 4]; 3] = [
    [0xff, 0xff, 0xff, 0xff],
    [0xff, 0xff, 0xff, 0x7f],
    [0x7f, 0xff, 0xff, 0xff],
];

/// The zip end record's offset, if the data ends like a zip.
pub fn eocd(d: &[u8]) -> Option<usize> {
    d.windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .filter(|&i| i + 22 <= d.len())
}

fn u32le(d: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// Offsets of the zip length fields: every field of the end record, and the sizes, name
/// length and offset of the first central directory record.
pub fn zip_spots(d: &[u8]) -> Vec<usize> {
    let Some(e) = eocd(d) else {
        return Vec::new();
    };
    let mut spots = vec![e + 8, e + 10, e + 12, e + 16, e + 20];
    if let Some(cd) = u32le(d, e + 16).filter(|cd| cd + 46 <= d.len()) {
        spots.extend([cd + 20, cd + 24, cd + 28, cd + 30, cd + 42]);
    }
    spots
}

/// The archive with its central directory repeated, the end record claiming both copies.
pub fn doubled_central_directory(d: &[u8]) -> Option<Vec<u8>> {
    let e = eocd(d)?;
    let size = u32le(d, e + 12)?;
    let off = u32le(d, e + 16)?;
    let cd = d.get(off..off.checked_add(size)?)?;
    if off + size > e {
        return None;
    }
    let mut out = d[..e].to_vec();
    out.extend_from_slice(cd);
    let mut rec = d[e..].to_vec();
    let count = u16::from_le_bytes([rec[10], rec[11]]).wrapping_mul(2);
    rec[8..10].copy_from_slice(&count.to_le_bytes());
    rec[10..12].copy_from_slice(&count.to_le_bytes());
    rec[12..16].copy_from_slice(&((size * 2) as u32).to_le_bytes());
    out.extend_from_slice(&rec);
    Some(out)
}

/// Every mutation of `data` under `plan`, deterministic in `seed`.
pub fn mutations(data: &[u8], plan: &Plan, seed: u64) -> Vec<Mutation> {
    let mut rng = Rng::new(seed);
    let n = data.len();
    let mut out = Vec::new();
    let mut push = |name: String, bytes: Vec<u8>| out.push(Mutation { name, bytes });
    let quarter = (plan.budget / 4).max(1);
    let eighth = (plan.budget / 8).max(1);
    // Truncations: evenly spread, plus the last bytes (where end records live).
    for k in 1..=quarter {
        let at = n * k / (quarter + 1);
        push(format!("truncate@{at}"), data[..at].to_vec());
    }
    for back in [1, 2, 10, 22, 40, 100] {
        let at = n.saturating_sub(back);
        push(format!("truncate@{at}"), data[..at].to_vec());
    }
    if n == 0 {
        return out;
    }
    for _ in 0..quarter {
        let at = rng.below(n);
        let mut d = data.to_vec();
        d[at] ^= 1 << rng.below(8);
        push(format!("flip@{at}"), d);
    }
    // Header regions matter most: whole bytes flipped in the first 256.
    for _ in 0..eighth {
        let at = rng.below(n.min(256));
        let mut d = data.to_vec();
        d[at] ^= 0xff;
        push(format!("flip-head@{at}"), d);
    }
    for _ in 0..eighth {
        let at = rng.below(n);
        let len = 1 + rng.below(512);
        let mut d = data.to_vec();
        let end = (at + len).min(n);
        d[at..end].fill(0);
        push(format!("zero@{at}+{len}"), d);
    }
    let mut spots: Vec<usize> = (0..eighth)
        .map(|_| rng.below(n.saturating_sub(4)))
        .collect();
    spots.extend(zip_spots(data));
    spots.extend(plan.hot_spots.iter().copied());
    spots.sort_unstable();
    spots.dedup();
    for at in spots {
        if at + 4 > n {
            continue;
        }
        for v in HUGE {
            let mut d = data.to_vec();
            d[at..at + 4].copy_from_slice(&v);
            push(format!("huge{}@{at}", hex(&v)), d);
        }
    }
    if let Some(d) = doubled_central_directory(data) {
        push("doubled-central-directory".into(), d);
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_mutations_and_every_one_differs() {
        let data: Vec<u8> = (0..4096u32).map(|i| (i * 7) as u8).collect();
        let a = mutations(&data, &Plan::new(40), 3);
        let b = mutations(&data, &Plan::new(40), 3);
        assert_eq!(
            a.iter().map(|m| &m.name).collect::<Vec<_>>(),
            b.iter().map(|m| &m.name).collect::<Vec<_>>()
        );
        assert!(a.len() >= 40);
        assert!(
            a.iter().all(|m| m.bytes != data),
            "a mutation left the file as it was"
        );
    }

    #[test]
    fn empty_input_gives_truncations_only() {
        let m = mutations(&[], &Plan::new(8), 1);
        assert!(m.iter().all(|m| m.bytes.is_empty()));
    }
}
