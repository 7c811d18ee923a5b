//! Signed click-to-call links and credentials: HMAC-SHA256 under the deployment's click-to-call
//! key, which never leaves the bridge (and, for set-up links, the administrator's shell).
//!
//! Everything signed carries a purpose, its fields and an expiry (epoch seconds), and the
//! signature covers the text
//!
//! ```text
//! ctc1\n<purpose>\n<field>\n…\n<expiry>
//! ```
//!
//! as lowercase hex. The purpose keeps one kind of token from standing in for another (a set-up
//! link is no call, a confirmation no browser credential); the text is simple enough for
//! `printf … | openssl dgst -sha256 -hmac "$KEY"`, the guide's recipe for set-up links. No
//! field may hold a line break, so the fields cannot be shifted into one another.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// Shortest click-to-call key accepted: 32 characters (`openssl rand -hex 32` gives 64).
pub const MIN_KEY_CHARS: usize = 32;

/// Version tag of the signed text; a new format gets a new tag, so old links fail cleanly.
const VERSION: &str = "ctc1";
/// Hex characters of an HMAC-SHA256 signature.
const SIGNATURE_HEX_CHARS: usize = 64;
/// Digits of an expiry at most (epoch seconds stay 10 digits until the year 2286).
const MAX_EXPIRY_DIGITS: usize = 12;

type HmacSha256 = Hmac<Sha256>;

/// What a signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A manager's personal set-up link: manager.
    Enrol,
    /// The credential a set-up leaves in the manager's browser: manager (CRM user id).
    Device,
    /// A call link signed by an integration that holds the key: manager, phone as sent.
    Call,
    /// The confirmation page's button: manager (CRM user id), phone (E.164), nonce.
    Dial,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enrol => "enrol",
            Self::Device => "device",
            Self::Call => "call",
            Self::Dial => "dial",
        }
    }
}

/// Why a signed link or credential was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not signed with this key for this purpose and these fields: forged, altered, or signed
    /// with another deployment's key.
    #[error("the signature does not match")]
    Forged,
    /// Genuine, but past its expiry.
    #[error("it has expired")]
    Expired,
    /// Not even shaped like a signed link (a missing part, an expiry that is no number, a
    /// signature that is not 64 hex digits).
    #[error("it is malformed: {0}")]
    Malformed(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("is shorter than {MIN_KEY_CHARS} characters: use a long random value")]
    TooShort,
}

/// The click-to-call key, ready to sign and verify.
#[derive(Clone)]
pub struct LinkKey {
    mac: HmacSha256,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(<redacted>)")
    }
}

impl LinkKey {
    pub fn new(key: &Secret) -> Result<Self, KeyError> {
        if key.expose().trim().chars().count() < MIN_KEY_CHARS {
            return Err(KeyError::TooShort);
        }
        // HMAC takes a key of any length: this cannot fail, but is not unwrapped either.
        let mac =
            HmacSha256::new_from_slice(key.expose().as_bytes()).map_err(|_| KeyError::TooShort)?;
        Ok(Self { mac })
    }

    /// The signature of `fields` for `purpose`, valid until `expires_at` (epoch seconds).
    pub fn sign(&self, purpose: Purpose, fields: &[&str], expires_at: i64) -> String {
        let mut mac = self.mac.clone();
        mac.update(signed_text(purpose, fields, &expires_at.to_string()).as_bytes());
        to_hex(&mac.finalize().into_bytes())
    }

    /// Checks `signature` over `fields` and `expires_at` (as sent: decimal epoch seconds), in
    /// constant time, then the expiry against `now` (epoch seconds). The expiry is only
    /// reported for a genuine link.
    pub fn verify(
        &self,
        purpose: Purpose,
        fields: &[&str],
        expires_at: &str,
        signature: &str,
        now: i64,
    ) -> Result<(), LinkError> {
        if fields.iter().any(|f| f.contains(['\n', '\r'])) {
            return Err(LinkError::Malformed("a field holds a line break"));
        }
        let expiry = expiry(expires_at)?;
        let signature = from_hex(signature).ok_or(LinkError::Malformed(
            "the signature is not 64 hexadecimal digits",
        ))?;
        let mut mac = self.mac.clone();
        mac.update(signed_text(purpose, fields, expires_at).as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| LinkError::Forged)?;
        if expiry <= now {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

fn signed_text(purpose: Purpose, fields: &[&str], expires_at: &str) -> String {
    let mut text = format!("{VERSION}\n{}\n", purpose.as_str());
    for field in fields {
        text.push_str(field);
        text.push('\n');
    }
    text.push_str(expires_at);
    text
}

/// Epoch seconds written as plain digits (no sign, no leading `+`, no spaces).
fn expiry(raw: &str) -> Result<i64, LinkError> {
    let malformed = LinkError::Malformed("the expiry is not epoch seconds");
    if raw.is_empty() || raw.len() > MAX_EXPIRY_DIGITS || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed);
    }
    raw.parse().map_err(|_| malformed)
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// A signature in hex (either case); `None` unless exactly 32 bytes.
fn from_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != SIGNATURE_HEX_CHARS {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef-test-key";
    const NOW: i64 = 1_800_000_000;

    fn key() -> LinkKey {
        LinkKey::new(&Secret::new(KEY)).unwrap()
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let sig = key().sign(Purpose::Enrol, &["olena@acme.ua"], NOW + 60);
        let verify = |now| {
            key().verify(
                Purpose::Enrol,
                &["olena@acme.ua"],
                &(NOW + 60).to_string(),
                &sig,
                now,
            )
        };
        assert_eq!(verify(NOW), Ok(()));
        assert_eq!(verify(NOW + 59), Ok(()));
        assert_eq!(verify(NOW + 60), Err(LinkError::Expired));
    }

    #[test]
    fn any_change_to_purpose_fields_expiry_or_key_breaks_the_signature() {
        let exp = (NOW + 60).to_string();
        let sig = key().sign(Purpose::Dial, &["olena@acme.ua", "+380501234567"], NOW + 60);
        let fields = ["olena@acme.ua", "+380501234567"];
        assert_eq!(
            key().verify(Purpose::Dial, &fields, &exp, &sig, NOW),
            Ok(())
        );
        let forged = |purpose, fields: &[&str], exp: &str, key: &LinkKey| {
            key.verify(purpose, fields, exp, &sig, NOW)
        };
        let other_key = LinkKey::new(&Secret::new(format!("{KEY}-other"))).unwrap();
        for (purpose, fields, exp, key) in [
            (Purpose::Device, &fields[..], exp.as_str(), &key()),
            (
                Purpose::Dial,
                &["ivan@acme.ua", "+380501234567"][..],
                exp.as_str(),
                &key(),
            ),
            (
                Purpose::Dial,
                &["olena@acme.ua", "+380501234568"][..],
                exp.as_str(),
                &key(),
            ),
            (Purpose::Dial, &fields[..], "1900000000", &key()),
            (Purpose::Dial, &fields[..], exp.as_str(), &other_key),
            // Fields shifted across the separator.
            (
                Purpose::Dial,
                &["olena@acme.ua\n+380501234567"][..],
                exp.as_str(),
                &key(),
            ),
        ] {
            assert_ne!(
                forged(purpose, fields, exp, key),
                Ok(()),
                "{purpose:?} {fields:?} {exp}"
            );
        }
    }

    #[test]
    fn a_forged_signature_is_reported_as_forged_even_when_expired() {
        let sig = key().sign(Purpose::Call, &["olena@acme.ua", "0501234567"], NOW - 10);
        let mut altered = sig.clone().into_bytes();
        altered[0] = if altered[0] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).unwrap();
        let exp = (NOW - 10).to_string();
        let fields = ["olena@acme.ua", "0501234567"];
        assert_eq!(
            key().verify(Purpose::Call, &fields, &exp, &altered, NOW),
            Err(LinkError::Forged)
        );
        assert_eq!(
            key().verify(Purpose::Call, &fields, &exp, &sig, NOW),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn malformed_parts_are_refused_before_any_comparison() {
        let sig = key().sign(Purpose::Enrol, &["olena@acme.ua"], NOW + 60);
        for (exp, sig) in [
            ("", sig.as_str()),
            ("-1", sig.as_str()),
            ("+1800000060", sig.as_str()),
            ("18e8", sig.as_str()),
            ("1800000060", &sig[..63]),
            ("1800000060", "zz"),
        ] {
            assert!(
                matches!(
                    key().verify(Purpose::Enrol, &["olena@acme.ua"], exp, sig, NOW),
                    Err(LinkError::Malformed(_))
                ),
                "{exp} {sig}"
            );
        }
        // Upper-case hex is the same signature.
        assert_eq!(
            key().verify(
                Purpose::Enrol,
                &["olena@acme.ua"],
                "1800000060",
                &sig.to_uppercase(),
                NOW
            ),
            Ok(())
        );
    }

    /// The guide's shell recipe for set-up links must keep producing what the bridge verifies.
    /// The expected value was computed independently with
    /// `printf 'ctc1\nenrol\nolena@acme.ua\n1800000060' | openssl dgst -sha256 -hmac "$KEY"`.
    #[test]
    fn the_signed_text_is_what_the_guides_openssl_recipe_signs() {
        assert_eq!(
            key().sign(Purpose::Enrol, &["olena@acme.ua"], 1_800_000_060),
            OPENSSL_ENROL_SIGNATURE
        );
    }
    const OPENSSL_ENROL_SIGNATURE: &str =
        "04e20f65e0db4fc5dba9662dde54256890bf5d9aa1f6aca16b6ea5b45c5862ba";

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(
            LinkKey::new(&Secret::new("x".repeat(MIN_KEY_CHARS - 1))).err(),
            Some(KeyError::TooShort)
        );
        assert!(LinkKey::new(&Secret::new("x".repeat(MIN_KEY_CHARS))).is_ok());
        assert_eq!(format!("{:?}", key()), "LinkKey(<redacted>)");
    }
}
