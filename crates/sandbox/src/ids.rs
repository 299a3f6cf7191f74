//! Identifiers: random secrets (tokens, codes) and the stable ids derived from a display name, so that
//! signing in again as the same person finds the same user, Pages and organisations.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A bearer secret: 256 random bits, base64url so it survives query strings unescaped.
pub(crate) fn secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Random letters and digits, for values that only need to look like the platform's (trace and log ids).
pub(crate) fn random_alnum(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(ALNUM[rng.gen_range(0..ALNUM.len())]))
        .collect()
}

fn digest(kind: &str, name: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    // The separator keeps ("ab", "c") and ("a", "bc") apart.
    hasher.update([0]);
    hasher.update(name.as_bytes());
    hasher.finalize().into()
}

/// `len` decimal digits (no leading zero, like the platforms' numeric ids) derived from `kind` and `name`.
pub(crate) fn stable_digits(kind: &str, name: &str, len: usize) -> String {
    let hash = digest(kind, name);
    hash.iter()
        .cycle()
        .take(len)
        .enumerate()
        .map(|(i, byte)| {
            let digit = if i == 0 { 1 + byte % 9 } else { byte % 10 };
            char::from(b'0' + digit)
        })
        .collect()
}

/// `len` letters and digits derived from `kind` and `name` (LinkedIn `sub`, TikTok `open_id` style).
pub(crate) fn stable_alnum(kind: &str, name: &str, len: usize) -> String {
    let hash = digest(kind, name);
    hash.iter()
        .cycle()
        .take(len)
        .map(|byte| char::from(ALNUM[usize::from(*byte) % ALNUM.len()]))
        .collect()
}

/// "Ann Lee" → "annlee": the handle the sandbox gives a person or Page.
/// A plausible, stable follower count for an account id, so health checks read the same figure each time.
pub(crate) fn followers(id: &str) -> u64 {
    stable_digits("followers", id, 5)
        .parse::<u64>()
        .unwrap_or(0)
}

pub(crate) fn handle(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// PKCE (RFC 7636) transformation named by the authorization request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum PkceMethod {
    S256,
    Plain,
}

impl PkceMethod {
    /// X's docs show `S256` and `plain`; some clients send `s256`, so the name is compared without case.
    /// Absent means `plain`, as RFC 7636 §4.3 says.
    pub(crate) fn parse(value: Option<&str>) -> Option<PkceMethod> {
        match value {
            None => Some(PkceMethod::Plain),
            Some(v) if v.eq_ignore_ascii_case("s256") => Some(PkceMethod::S256),
            Some(v) if v.eq_ignore_ascii_case("plain") => Some(PkceMethod::Plain),
            Some(_) => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PkceMethod::S256 => "S256",
            PkceMethod::Plain => "plain",
        }
    }
}

/// Whether `verifier` is the secret behind `challenge`.
pub(crate) fn pkce_matches(method: PkceMethod, challenge: &str, verifier: &str) -> bool {
    match method {
        PkceMethod::Plain => challenge == verifier,
        PkceMethod::S256 => {
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_the_rfc_7636_example() {
        // Appendix B of RFC 7636.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(PkceMethod::S256, challenge, verifier));
        assert!(!pkce_matches(
            PkceMethod::S256,
            challenge,
            "another verifier"
        ));
        assert!(!pkce_matches(PkceMethod::Plain, challenge, verifier));
        assert!(pkce_matches(PkceMethod::Plain, "same", "same"));
    }

    #[test]
    fn pkce_method_names_ignore_case_and_default_to_plain() {
        assert_eq!(PkceMethod::parse(Some("S256")), Some(PkceMethod::S256));
        assert_eq!(PkceMethod::parse(Some("s256")), Some(PkceMethod::S256));
        assert_eq!(PkceMethod::parse(Some("PLAIN")), Some(PkceMethod::Plain));
        assert_eq!(PkceMethod::parse(None), Some(PkceMethod::Plain));
        assert_eq!(PkceMethod::parse(Some("S512")), None);
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = stable_digits("meta-user", "Ann Lee", 16);
        assert_eq!(a, stable_digits("meta-user", "Ann Lee", 16));
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_digit()));
        assert!(!a.starts_with('0'));
        assert_ne!(a, stable_digits("meta-user", "Ann Leee", 16));
        assert_ne!(a, stable_digits("meta-page", "Ann Lee", 16));
        // The separator keeps the kind and the name apart.
        assert_ne!(stable_digits("ab", "c", 16), stable_digits("a", "bc", 16));

        let sub = stable_alnum("linkedin-member", "Ann Lee", 10);
        assert_eq!(sub, stable_alnum("linkedin-member", "Ann Lee", 10));
        assert!(sub.chars().all(|c| c.is_ascii_alphanumeric()));
        // Longer than the hash: the bytes are reused rather than running out.
        assert_eq!(stable_digits("k", "n", 40).len(), 40);
    }

    #[test]
    fn secrets_are_random_and_url_safe() {
        let a = secret("EAA");
        let b = secret("EAA");
        assert_ne!(a, b);
        assert!(a.starts_with("EAA"));
        assert_eq!(a.len(), 3 + 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn handles_are_lowercase_without_spaces() {
        assert_eq!(handle("Ann Lee"), "annlee");
        assert_eq!(handle(" Ann  Lee Studio "), "annleestudio");
    }
}
