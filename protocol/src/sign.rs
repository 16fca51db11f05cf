//! The signature itself (DECISIONS D1).
//!
//! `DTAPI-Signature` is the lowercase hex HMAC-SHA1, keyed with the private token,
//! of `<signed target>\n<public token>\n<DTAPI-Date exactly as sent>`.

use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::secret::Secret;

/// Header carrying the public token.
pub const HEADER_TOKEN: &str = "DTAPI-Token";
/// Header carrying the request date, hashed byte for byte as sent.
pub const HEADER_DATE: &str = "DTAPI-Date";
/// Header carrying the hex signature.
pub const HEADER_SIGNATURE: &str = "DTAPI-Signature";

/// The exact string the HMAC covers. It contains the public token and the date but
/// never the private token, so it is safe to show to a user.
pub fn string_to_sign(signed_target: &str, public: &str, date: &str) -> String {
    let mut s = String::with_capacity(signed_target.len() + public.len() + date.len() + 2);
    s.push_str(signed_target);
    s.push('\n');
    s.push_str(public);
    s.push('\n');
    s.push_str(date);
    s
}

fn mac(private: &Secret, message: &[u8]) -> Hmac<Sha1> {
    mac_pieces(private, &[message])
}

fn mac_pieces(private: &Secret, pieces: &[&[u8]]) -> Hmac<Sha1> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha1>::new_from_slice(private.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
    for p in pieces {
        mac.update(p);
    }
    mac
}

/// Signs a request: the lowercase hex digest that goes in `DTAPI-Signature`.
pub fn sign(private: &Secret, signed_target: &str, public: &str, date: &str) -> String {
    sign_bytes(
        private,
        &string_to_sign_bytes(signed_target.as_bytes(), public, date),
    )
}

/// Signs an already assembled message (used where the signed target is not UTF-8).
pub fn sign_bytes(private: &Secret, message: &[u8]) -> String {
    hex::encode(mac(private, message).finalize().into_bytes())
}

pub(crate) fn string_to_sign_bytes(signed_target: &[u8], public: &str, date: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(signed_target.len() + public.len() + date.len() + 2);
    m.extend_from_slice(signed_target);
    m.push(b'\n');
    m.extend_from_slice(public.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(date.as_bytes());
    m
}

/// Checks a provided signature against a message in constant time.
///
/// The provided value must be exactly 40 lowercase hex digits: the appliance's
/// clients all send lowercase, and D1 pins uppercase as a mismatch.
pub(crate) fn matches(private: &Secret, message: &[u8], provided: &str) -> bool {
    matches_pieces(private, &[message], provided)
}

/// [`matches`] over a message given as consecutive pieces (nothing is assembled).
pub(crate) fn matches_pieces(private: &Secret, pieces: &[&[u8]], provided: &str) -> bool {
    let Some(bytes) = decode_lower_hex(provided) else {
        return false;
    };
    // `verify_slice` compares in constant time.
    mac_pieces(private, pieces).verify_slice(&bytes).is_ok()
}

fn decode_lower_hex(s: &str) -> Option<[u8; 20]> {
    if s.len() != 40
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 20];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_status() {
        let sig = sign(
            &Secret::new("PRIVTOKEN"),
            "/status",
            "PUBTOKEN",
            "20200415T133400",
        );
        assert_eq!(sig, "6348ccfcae96ef2aefce2a9762302aa2c3912a5c");
    }

    #[test]
    fn uppercase_hex_is_not_a_match() {
        let key = Secret::new("PRIVTOKEN");
        let msg = string_to_sign_bytes(b"/status", "PUBTOKEN", "20200415T133400");
        assert!(matches(
            &key,
            &msg,
            "6348ccfcae96ef2aefce2a9762302aa2c3912a5c"
        ));
        assert!(!matches(
            &key,
            &msg,
            "6348CCFCAE96EF2AEFCE2A9762302AA2C3912A5C"
        ));
        assert!(!matches(&key, &msg, "6348ccfc"));
        assert!(!matches(&key, &msg, ""));
    }
}
