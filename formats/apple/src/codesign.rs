//! Apple's embedded code signature (the SuperBlob that LC_CODE_SIGNATURE points at): code
//! directories, requirements, entitlements and the CMS blob. Parsed from bytes already bounded
//! by the caller; every offset inside is checked against the blob it claims to sit in.
//!
//! Written here rather than taken from `apple-codesign`: that crate reads the same structures
//! but brings its own older copies of goblin, zip, sha2 and reqwest plus an lzma C library
//! (about 95 s of cold build, and a liblzma link conflict with other crates), and its reader
//! wants the whole binary in memory, while we stream code pages out of a zip member. The CMS
//! part uses `formats/pki`, the workspace's one X.509/CMS stack.

use format_pki::{Certificate, SignedData, TimeStampToken, Verdict};
use ring::digest;

use crate::bytes::{be32, c_string, u64_at};
use crate::roots;

const SUPERBLOB: u32 = 0xfade_0cc0;
const CODE_DIRECTORY: u32 = 0xfade_0c02;
const BLOB_WRAPPER: u32 = 0xfade_0b01;

const SLOT_CODE_DIRECTORY: u32 = 0;
const SLOT_REQUIREMENTS: u32 = 2;
const SLOT_ENTITLEMENTS: u32 = 5;
const SLOT_DER_ENTITLEMENTS: u32 = 7;
const SLOT_ALTERNATE_FIRST: u32 = 0x1000;
const SLOT_ALTERNATE_LAST: u32 = 0x1004;
const SLOT_SIGNATURE: u32 = 0x10000;

/// Special slot numbers (stored at negative indexes before the code slots).
pub const SPECIAL_INFO_PLIST: u32 = 1;
pub const SPECIAL_REQUIREMENTS: u32 = 2;
pub const SPECIAL_RESOURCES: u32 = 3;
pub const SPECIAL_ENTITLEMENTS: u32 = 5;
pub const SPECIAL_DER_ENTITLEMENTS: u32 = 7;

/// Most code slots a directory may declare (a 64 GB binary at 4 KB pages).
const MAX_CODE_SLOTS: u32 = 1 << 24;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeSignError {
    #[error("code signature does not start with the SuperBlob magic (found {0:#010x})")]
    NotSuperBlob(u32),
    #[error("code signature blob at offset {offset} runs past the signature ({len} bytes)")]
    OutOfBounds { offset: usize, len: usize },
    #[error("code signature has no CodeDirectory")]
    NoCodeDirectory,
    #[error("CodeDirectory is malformed: {0}")]
    BadCodeDirectory(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashType {
    Sha1,
    Sha256,
    Sha256Truncated,
    Sha384,
}

impl HashType {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Sha1),
            2 => Some(Self::Sha256),
            3 => Some(Self::Sha256Truncated),
            4 => Some(Self::Sha384),
            _ => None,
        }
    }
    pub fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 | Self::Sha256Truncated => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
        }
    }
    pub fn size(self) -> usize {
        match self {
            Self::Sha1 | Self::Sha256Truncated => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha256Truncated => "sha256-truncated",
            Self::Sha384 => "sha384",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CodeDirectory {
    /// The whole blob, as hashed for the cdhash and signed by the CMS.
    pub raw: Vec<u8>,
    pub version: u32,
    pub flags: u32,
    pub hash_type: HashType,
    pub hash_size: usize,
    /// 0 means one page covering everything up to `code_limit`.
    pub page_size_log2: u8,
    pub code_limit: u64,
    pub n_special: u32,
    pub n_code: u32,
    hash_offset: usize,
    pub identifier: String,
    pub team_id: Option<String>,
}

impl CodeDirectory {
    pub fn parse(raw: &[u8]) -> Result<Self, CodeSignError> {
        let bad = CodeSignError::BadCodeDirectory;
        if be32(raw, 0) != Some(CODE_DIRECTORY) {
            return Err(bad("wrong magic"));
        }
        let version = be32(raw, 8).ok_or(bad("truncated header"))?;
        let flags = be32(raw, 12).ok_or(bad("truncated header"))?;
        let hash_offset = be32(raw, 16).ok_or(bad("truncated header"))? as usize;
        let ident_offset = be32(raw, 20).ok_or(bad("truncated header"))? as usize;
        let n_special = be32(raw, 24).ok_or(bad("truncated header"))?;
        let n_code = be32(raw, 28).ok_or(bad("truncated header"))?;
        let code_limit32 = be32(raw, 32).ok_or(bad("truncated header"))?;
        let hash_size = *raw.get(36).ok_or(bad("truncated header"))? as usize;
        let hash_type = HashType::from_u8(*raw.get(37).ok_or(bad("truncated header"))?)
            .ok_or(bad("unknown hash type"))?;
        let page_size_log2 = *raw.get(39).ok_or(bad("truncated header"))?;
        if hash_size != hash_type.size() {
            return Err(bad("hash size does not match the hash type"));
        }
        if page_size_log2 != 0 && !(9..=24).contains(&page_size_log2) {
            return Err(bad("page size out of range"));
        }
        if n_code > MAX_CODE_SLOTS || n_special > 64 {
            return Err(bad("too many slots"));
        }
        let team_id = if version >= 0x20200 {
            match be32(raw, 48) {
                Some(0) | None => None,
                Some(off) => c_string(raw, off as usize, 64),
            }
        } else {
            None
        };
        let code_limit = if version >= 0x20300 {
            match u64_at(raw, 56, true) {
                Some(v) if v != 0 => v,
                _ => code_limit32 as u64,
            }
        } else {
            code_limit32 as u64
        };
        // Slots must lie inside the blob.
        let special_bytes = (n_special as usize)
            .checked_mul(hash_size)
            .ok_or(bad("slot table overflows"))?;
        let code_bytes = (n_code as usize)
            .checked_mul(hash_size)
            .ok_or(bad("slot table overflows"))?;
        if hash_offset < special_bytes
            || hash_offset
                .checked_add(code_bytes)
                .is_none_or(|end| end > raw.len())
        {
            return Err(bad("hash slots lie outside the directory"));
        }
        let identifier = c_string(raw, ident_offset, 1024).ok_or(bad("identifier missing"))?;
        Ok(Self {
            raw: raw.to_vec(),
            version,
            flags,
            hash_type,
            hash_size,
            page_size_log2,
            code_limit,
            n_special,
            n_code,
            hash_offset,
            identifier,
            team_id,
        })
    }

    pub fn code_slot(&self, i: u32) -> Option<&[u8]> {
        if i >= self.n_code {
            return None;
        }
        let start = self.hash_offset + i as usize * self.hash_size;
        self.raw.get(start..start + self.hash_size)
    }

    pub fn special_slot(&self, n: u32) -> Option<&[u8]> {
        if n == 0 || n > self.n_special {
            return None;
        }
        let start = self.hash_offset - n as usize * self.hash_size;
        self.raw.get(start..start + self.hash_size)
    }

    /// Page size in bytes; `None` for a single page covering everything.
    pub fn page_size(&self) -> Option<u64> {
        (self.page_size_log2 != 0).then(|| 1u64 << self.page_size_log2)
    }

    pub fn hash(&self, data: &[u8]) -> Vec<u8> {
        let d = digest::digest(self.hash_type.algorithm(), data);
        d.as_ref()[..self.hash_size].to_vec()
    }

    /// The cdhash: this directory's digest, truncated to 20 bytes as Apple shows it.
    pub fn cdhash(&self) -> String {
        let d = digest::digest(self.hash_type.algorithm(), &self.raw);
        hex::encode(&d.as_ref()[..20])
    }

    /// Whether a special slot matches `data` (`None` data: the slot must be empty).
    pub fn special_matches(&self, n: u32, data: Option<&[u8]>) -> bool {
        let Some(slot) = self.special_slot(n) else {
            return data.is_none();
        };
        let empty = slot.iter().all(|&b| b == 0);
        match data {
            None => empty,
            Some(d) => slot == self.hash(d).as_slice(),
        }
    }
}

/// The parsed SuperBlob.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedSignature {
    /// Primary first, then alternates.
    pub code_directories: Vec<CodeDirectory>,
    pub requirements: Option<Vec<u8>>,
    pub entitlements: Option<Vec<u8>>,
    pub der_entitlements: Option<Vec<u8>>,
    /// The CMS payload (without the blob wrapper header); empty for ad hoc signatures.
    pub cms: Option<Vec<u8>>,
}

impl EmbeddedSignature {
    pub fn parse(data: &[u8]) -> Result<Self, CodeSignError> {
        let magic = be32(data, 0).unwrap_or(0);
        if magic != SUPERBLOB {
            return Err(CodeSignError::NotSuperBlob(magic));
        }
        let length = be32(data, 4).ok_or(CodeSignError::OutOfBounds {
            offset: 4,
            len: data.len(),
        })? as usize;
        let data = &data[..length.min(data.len())];
        let count = be32(data, 8).ok_or(CodeSignError::OutOfBounds {
            offset: 8,
            len: data.len(),
        })?;
        let mut sig = Self::default();
        let mut alternates = Vec::new();
        for i in 0..count.min(64) as usize {
            let idx = 12 + i * 8;
            let oob = CodeSignError::OutOfBounds {
                offset: idx,
                len: data.len(),
            };
            let slot = be32(data, idx).ok_or(oob.clone())?;
            let offset = be32(data, idx + 4).ok_or(oob)? as usize;
            // Slots this reader does not use (a stapled ticket, which is not framed as a
            // blob) are skipped unread.
            if !matches!(
                slot,
                SLOT_CODE_DIRECTORY | SLOT_ALTERNATE_FIRST
                    ..=SLOT_ALTERNATE_LAST
                        | SLOT_REQUIREMENTS
                        | SLOT_ENTITLEMENTS
                        | SLOT_DER_ENTITLEMENTS
                        | SLOT_SIGNATURE
            ) {
                continue;
            }
            let blob = blob_at(data, offset)?;
            match slot {
                SLOT_CODE_DIRECTORY => sig.code_directories.insert(0, CodeDirectory::parse(blob)?),
                SLOT_ALTERNATE_FIRST..=SLOT_ALTERNATE_LAST => {
                    alternates.push(CodeDirectory::parse(blob)?)
                }
                SLOT_REQUIREMENTS => sig.requirements = Some(blob.to_vec()),
                SLOT_ENTITLEMENTS => sig.entitlements = Some(blob.to_vec()),
                SLOT_DER_ENTITLEMENTS => sig.der_entitlements = Some(blob.to_vec()),
                SLOT_SIGNATURE if be32(blob, 0) == Some(BLOB_WRAPPER) => {
                    sig.cms = Some(blob[8..].to_vec());
                }
                _ => {}
            }
        }
        if sig.code_directories.is_empty() {
            return Err(CodeSignError::NoCodeDirectory);
        }
        sig.code_directories.extend(alternates);
        Ok(sig)
    }

    pub fn primary(&self) -> &CodeDirectory {
        &self.code_directories[0]
    }

    /// The XML entitlements plist, without the blob header.
    pub fn entitlements_xml(&self) -> Option<&[u8]> {
        self.entitlements.as_deref().and_then(|b| b.get(8..))
    }

    /// Special slots of every directory against the blobs (and the bundle files the caller
    /// read). Returns the first mismatch's description.
    pub fn check_special_slots(
        &self,
        info_plist: Option<&[u8]>,
        resources: Option<&[u8]>,
    ) -> Result<(), String> {
        for cd in &self.code_directories {
            let checks: [(u32, Option<&[u8]>, &str, bool); 5] = [
                (
                    SPECIAL_INFO_PLIST,
                    info_plist,
                    "Info.plist",
                    info_plist.is_some(),
                ),
                (
                    SPECIAL_RESOURCES,
                    resources,
                    "CodeResources",
                    resources.is_some(),
                ),
                (
                    SPECIAL_REQUIREMENTS,
                    self.requirements.as_deref(),
                    "requirements",
                    true,
                ),
                (
                    SPECIAL_ENTITLEMENTS,
                    self.entitlements.as_deref(),
                    "entitlements",
                    true,
                ),
                (
                    SPECIAL_DER_ENTITLEMENTS,
                    self.der_entitlements.as_deref(),
                    "DER entitlements",
                    true,
                ),
            ];
            // A linker signature (ld's ad hoc signature) has no special slots: it binds no
            // bundle files by design, which is not a mismatch.
            let linker_signed = cd.flags & crate::verify::CS_LINKER_SIGNED != 0;
            for (slot, data, what, check) in checks {
                if linker_signed && cd.n_special == 0 && data.is_some() && check && slot <= 3 {
                    continue;
                }
                // A bundle file we did not read is not checked; a blob of the signature is.
                if check && !cd.special_matches(slot, data) {
                    return Err(format!(
                        "the {} CodeDirectory's hash of the {what} does not match",
                        cd.hash_type.name()
                    ));
                }
            }
        }
        Ok(())
    }
}

fn blob_at(data: &[u8], offset: usize) -> Result<&[u8], CodeSignError> {
    let oob = CodeSignError::OutOfBounds {
        offset,
        len: data.len(),
    };
    let len = be32(data, offset.checked_add(4).ok_or(oob.clone())?).ok_or(oob.clone())? as usize;
    if len < 8 {
        return Err(oob);
    }
    let end = offset.checked_add(len).ok_or(oob.clone())?;
    data.get(offset..end).ok_or(oob)
}

/// What the CMS blob says about the primary CodeDirectory.
#[derive(Debug, Clone)]
pub struct CmsCheck {
    pub signers: Vec<(String, String)>,
    /// Message digest and signature of every signer verify.
    pub signature_ok: bool,
    /// The signed message digest matches the content.
    pub digest_ok: bool,
    /// A signer carries an RFC 3161 time-stamp token.
    pub timestamp: bool,
    pub chain_ok: bool,
    /// Team id from the signer certificate's OU.
    pub signer_team: Option<String>,
    /// Expiry (Unix seconds) of the certificates in the signer's chain.
    pub cert_windows: Vec<(String, i64, i64)>,
    pub error: Option<String>,
}

/// Whether a time-stamp token is a secure timestamp of `signature`: its imprint is the
/// signature's digest, the authority's signature verifies, and the authority chains to
/// Apple's root (Apple's time-stamp authority does). A token that only parses proves nothing.
fn timestamp_verifies(token: &[u8], signature: &[u8]) -> bool {
    let Ok(t) = TimeStampToken::parse(token) else {
        return false;
    };
    let check = t.verify(signature);
    if !check.imprint_ok || check.signature != Verdict::Valid {
        return false;
    }
    let sd = &t.signed_data;
    let pool: Vec<&Certificate> = sd.certificates.iter().collect();
    sd.signers
        .first()
        .and_then(|s| sd.signer_certificate(s))
        .is_some_and(|tsa| roots::chains_to_apple_root(tsa, &pool).trusted)
}

/// Verifies a CMS SignedData over `content` (detached), or over its own encapsulated content.
pub fn verify_cms(cms: &[u8], detached: Option<&[u8]>) -> Result<(SignedData, CmsCheck), String> {
    let sd = SignedData::parse(cms).map_err(|e| format!("CMS does not parse: {e}"))?;
    let check = check_signed_data(&sd, detached);
    Ok((sd, check))
}

pub fn check_signed_data(sd: &SignedData, detached: Option<&[u8]>) -> CmsCheck {
    let certs: Vec<&Certificate> = sd.certificates.iter().collect();
    let encapsulated = sd.content.as_deref().unwrap_or_default();
    let content = detached.unwrap_or(encapsulated);
    let mut out = CmsCheck {
        signers: Vec::new(),
        signature_ok: true,
        digest_ok: true,
        timestamp: false,
        chain_ok: true,
        signer_team: None,
        cert_windows: Vec::new(),
        error: None,
    };
    let mut any = false;
    for signer in &sd.signers {
        any = true;
        let digest = match signer.digest_matches(content) {
            Ok(Some(true)) => None,
            Ok(Some(false)) => Some("the digest does not match the content".to_owned()),
            Ok(None) => Some("the signer has no signed attributes".to_owned()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = digest {
            out.signature_ok = false;
            out.digest_ok = false;
            out.error.get_or_insert(format!("message digest: {e}"));
        }
        if signer
            .timestamp_token
            .as_deref()
            .is_some_and(|t| timestamp_verifies(t, &signer.signature))
        {
            out.timestamp = true;
        }
        match sd.signer_certificate(signer) {
            Some(cert) => {
                // Signed attributes are what the signature covers (RFC 5652 5.4).
                match signer.verify_signature(cert, encapsulated) {
                    Verdict::Valid => {}
                    Verdict::Invalid => {
                        out.signature_ok = false;
                        out.error
                            .get_or_insert("signature: it does not verify".into());
                    }
                    Verdict::Unsupported(why) => {
                        out.signature_ok = false;
                        out.error.get_or_insert(format!("signature: {why}"));
                    }
                }
                out.signers
                    .push((roots::subject_string(cert), cert.sha256.clone()));
                if out.signer_team.is_none() {
                    out.signer_team = roots::subject_ou(cert);
                }
                let chain = roots::chains_to_apple_root(cert, &certs);
                if !chain.trusted {
                    out.chain_ok = false;
                }
                for c in chain.certs {
                    if let Some((nb, na)) = c.validity {
                        out.cert_windows.push((roots::subject_string(c), nb, na));
                    }
                }
            }
            None => {
                out.signature_ok = false;
                out.chain_ok = false;
                out.error
                    .get_or_insert("the signer's certificate is not in the signature".into());
            }
        }
    }
    if !any {
        out.signature_ok = false;
        out.digest_ok = false;
        out.chain_ok = false;
        out.error
            .get_or_insert("the CMS signature has no signers".into());
    }
    out
}
