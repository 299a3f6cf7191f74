//! One-time notices after a form post ("Ann was removed"). The redirect's URL carries nothing: the notice
//! travels in a short-lived cookie signed with the session id, so a link someone else crafted can neither
//! write text into the page nor replay another session's notice.

use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const FLASH_COOKIE: &str = "iquivity_flash";

/// What the server has to tell the person on the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flash {
    /// An account was removed; its name as the server had it.
    Removed { name: String },
    /// "Refresh all inactive" queued this many renewals.
    RefreshQueued { count: u32 },
    /// A bulk action's report: its sentence, and a line for each account that did not go as asked.
    Bulk {
        sentence: String,
        problems: Vec<String>,
    },
}

fn mac(session: &str, payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(format!("iquivity-flash:{session}").as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    mac
}

/// The `Set-Cookie` value that hands `flash` to the next page this session opens.
pub fn set_cookie(session: &str, flash: &Flash, secure: bool) -> Option<HeaderValue> {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(flash).ok()?);
    let signature = URL_SAFE_NO_PAD.encode(mac(session, &payload).finalize().into_bytes());
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={payload}.{signature}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60{secure}"
    ))
    .ok()
}

/// The `Set-Cookie` value that drops a flash once shown.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("iquivity_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The flash this session's request carries, if its signature holds.
pub fn take(headers: &HeaderMap, session: &str) -> Option<Flash> {
    let value = crate::extract::cookie(headers, FLASH_COOKIE)?;
    let (payload, signature) = value.split_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    mac(session, payload).verify_slice(&signature).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    fn headers_with(cookie: &HeaderValue) -> HeaderMap {
        let pair = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    #[test]
    fn a_flash_is_read_back_only_by_the_session_that_set_it() {
        let flash = Flash::Removed {
            name: "Mason Carter".into(),
        };
        let cookie = set_cookie("iqs_one", &flash, false).unwrap();
        let headers = headers_with(&cookie);
        assert_eq!(take(&headers, "iqs_one"), Some(flash));
        assert_eq!(take(&headers, "iqs_two"), None);
    }

    #[test]
    fn a_forged_or_altered_flash_is_ignored() {
        let cookie = set_cookie("iqs_one", &Flash::RefreshQueued { count: 2 }, false).unwrap();
        let value = cookie.to_str().unwrap().split(';').next().unwrap();
        let (_, signed) = value.split_once('=').unwrap();
        let (_, signature) = signed.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"kind":"removed","name":"<b>pwned</b>"}"#);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{FLASH_COOKIE}={forged}.{signature}")).unwrap(),
        );
        assert_eq!(take(&headers, "iqs_one"), None);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{FLASH_COOKIE}=garbage")).unwrap(),
        );
        assert_eq!(take(&headers, "iqs_one"), None);
    }
}
