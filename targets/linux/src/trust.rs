//! The app's trusted OpenPGP keys as rpm, AppImage and debsigs signatures use them: which key
//! a signature names, and the signer it makes.

use platform::{InspectContext, Signer};

/// The trusted key whose key id is `key_id` (from the signature's issuer); `None` when the
/// signature names no issuer or no trusted key has that id.
pub(crate) fn key_for(ctx: &InspectContext, key_id: &str) -> Option<format_openpgp::PublicKey> {
    if key_id.is_empty() {
        return None;
    }
    ctx.trusted_keys
        .iter()
        .filter_map(|k| format_openpgp::parse_keys(k).ok())
        .flatten()
        .find(|k| k.key_id.eq_ignore_ascii_case(key_id))
}

/// The signer a verified signature by `key` reports: its first user id, and the SHA-256 an
/// app pins.
pub(crate) fn signer(key: &format_openpgp::PublicKey) -> Signer {
    Signer {
        subject: key
            .user_ids
            .first()
            .cloned()
            .unwrap_or_else(|| format!("OpenPGP key {}", key.key_id)),
        sha256: key.sha256.clone(),
    }
}
