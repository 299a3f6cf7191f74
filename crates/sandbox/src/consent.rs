//! Plays the person in front of the browser: opens a sandbox's authorize URL, fills in its consent form
//! and submits it, so tests and benchmarks can run an OAuth flow end to end without a browser.

use crate::html::ERROR_ID;
use std::sync::OnceLock;
use url::Url;

/// What the person does on the sandbox's consent page.
#[derive(Clone, Debug, Default)]
pub struct Consent {
    /// Deny instead of approving (the platform redirects back with error=access_denied).
    pub deny: bool,
    /// The platform user who signs in; default "Sandbox User". Users are created on first use.
    pub user: Option<String>,
    /// Grant only these scopes (default: all requested).
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error("the sandbox could not be reached: {0}")]
    Http(#[from] reqwest::Error),
    /// The authorization request itself was refused (unknown client, unregistered redirect URI, ...).
    #[error("the authorization request was rejected (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("unexpected answer from the sandbox: {0}")]
    Unexpected(String),
}

/// Drives the consent page over HTTP like a browser would: GET the authorize URL, then submit the form
/// with the given choices. Returns the URL the platform redirects to (the app's callback URL with
/// `code`&`state`, or `error`&`error_description`&`state`). Errors if the authorize request itself is
/// rejected (bad client id, redirect URI not registered, ...) with the page's message.
pub async fn consent(authorize_url: &str, consent: &Consent) -> Result<String, ConsentError> {
    let page_url = Url::parse(authorize_url)
        .map_err(|e| ConsentError::Unexpected(format!("invalid authorize URL: {e}")))?;
    let client = client()?;

    let response = client.get(page_url.clone()).send().await?;
    let status = response.status();
    let page = response.text().await?;
    if !status.is_success() {
        return Err(rejected(status.as_u16(), &page));
    }
    let form = Form::parse(&page)
        .ok_or_else(|| ConsentError::Unexpected("the page has no consent form".into()))?;

    let mut fields = form.hidden;
    fields.push((
        "user".into(),
        consent.user.clone().unwrap_or(form.default_user),
    ));
    for scope in form.scopes {
        let wanted = consent
            .scopes
            .as_ref()
            .is_none_or(|chosen| chosen.contains(&scope));
        if wanted {
            fields.push(("scope".into(), scope));
        }
    }
    let decision = if consent.deny { "deny" } else { "approve" };
    fields.push(("decision".into(), decision.into()));

    let action = page_url
        .join(&form.action)
        .map_err(|e| ConsentError::Unexpected(format!("invalid form action: {e}")))?;
    let response = client.post(action.clone()).form(&fields).send().await?;
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ConsentError::Unexpected("a redirect without Location".into()))?;
        let target = action
            .join(location)
            .map_err(|e| ConsentError::Unexpected(format!("invalid redirect: {e}")))?;
        return Ok(target.to_string());
    }
    let page = response.text().await?;
    Err(rejected(status.as_u16(), &page))
}

/// What the platform's redirect back to the app carried after the person approved.
#[derive(Clone, Debug, Default)]
pub struct Approval {
    pub state: Option<String>,
    pub code: Option<String>,
}

/// [`consent`], then the `state` and `code` read off the redirect, as the app's callback would read them.
pub async fn approve(authorize_url: &str, choices: &Consent) -> Result<Approval, ConsentError> {
    let redirect = consent(authorize_url, choices).await?;
    let redirect = Url::parse(&redirect)
        .map_err(|e| ConsentError::Unexpected(format!("invalid redirect: {e}")))?;
    let param = |name: &str| {
        redirect
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    Ok(Approval {
        state: param("state"),
        code: param("code"),
    })
}

/// One client for every call: building one loads the TLS roots, which costs tens of milliseconds. It keeps
/// no idle connections, so it is safe to share between runtimes (each `#[tokio::test]` has its own, and a
/// pooled connection would die with the runtime that opened it).
fn client() -> Result<reqwest::Client, ConsentError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        // The redirect to the app is the result; following it would call the app's callback.
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

fn rejected(status: u16, page: &str) -> ConsentError {
    let message = error_message(page).unwrap_or_else(|| page.trim().to_string());
    ConsentError::Rejected { status, message }
}

/// The reason on a sandbox error page.
fn error_message(page: &str) -> Option<String> {
    let marker = format!("id=\"{ERROR_ID}\">");
    let start = page.find(&marker)? + marker.len();
    let end = start + page[start..].find("</p>")?;
    Some(unescape(&page[start..end]))
}

/// The parts of the consent form a browser would submit.
#[derive(Debug)]
struct Form {
    action: String,
    hidden: Vec<(String, String)>,
    default_user: String,
    scopes: Vec<String>,
}

impl Form {
    /// Reads the sandbox's own consent page: one form, double-quoted attributes.
    fn parse(page: &str) -> Option<Form> {
        let form_start = page.find("<form")?;
        let form_tag = tag_attributes(&page[form_start + "<form".len()..]);
        let mut form = Form {
            action: attribute(&form_tag, "action")?.to_string(),
            hidden: Vec::new(),
            default_user: crate::authorize::DEFAULT_USER.to_string(),
            scopes: Vec::new(),
        };
        for (index, _) in page[form_start..].match_indices("<input") {
            let attrs = tag_attributes(&page[form_start + index + "<input".len()..]);
            let name = attribute(&attrs, "name").unwrap_or_default().to_string();
            let value = attribute(&attrs, "value").unwrap_or_default().to_string();
            match attribute(&attrs, "type") {
                Some("hidden") => form.hidden.push((name, value)),
                Some("checkbox") if name == "scope" => form.scopes.push(value),
                Some("text") if name == "user" => form.default_user = value,
                _ => {}
            }
        }
        Some(form)
    }
}

fn attribute<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The attributes of the tag whose name was just read, up to its `>`; values unescaped.
fn tag_attributes(mut rest: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('>') {
            return attrs;
        }
        let name_end = rest
            .find(|c: char| c == '=' || c == '>' || c.is_whitespace())
            .unwrap_or(rest.len());
        if name_end == 0 {
            // A stray character (say "/" of "/>"): skip it.
            let skip = rest.chars().next().map_or(1, char::len_utf8);
            rest = &rest[skip..];
            continue;
        }
        let name = rest[..name_end].to_ascii_lowercase();
        rest = &rest[name_end..];
        match rest.strip_prefix("=\"") {
            Some(quoted) => {
                let end = quoted.find('"').unwrap_or(quoted.len());
                attrs.push((name, unescape(&quoted[..end])));
                rest = quoted.get(end + 1..).unwrap_or("");
            }
            None => attrs.push((name, String::new())),
        }
    }
}

/// Reverses `html::escape`; `&amp;` last so that an escaped entity is not decoded twice.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{consent_page, error_page, escape, ConsentForm};

    #[test]
    fn reads_back_the_consent_page_it_is_given() {
        let hidden = [
            ("client_id", "app & co".to_string()),
            ("state", "\"quoted\" <state>".to_string()),
        ];
        let scopes = ["a".to_string(), "b".to_string()];
        let page = consent_page(&ConsentForm {
            platform: "X",
            client_id: "app & co",
            redirect_uri: "https://app.example/cb",
            action: "/i/oauth2/authorize/decide",
            hidden: &hidden,
            scopes: &scopes,
        });
        let form = Form::parse(&page).unwrap();
        assert_eq!(form.action, "/i/oauth2/authorize/decide");
        assert_eq!(
            form.hidden,
            [
                ("client_id".to_string(), "app & co".to_string()),
                ("state".to_string(), "\"quoted\" <state>".to_string()),
            ]
        );
        assert_eq!(form.scopes, ["a", "b"]);
        assert_eq!(form.default_user, "Sandbox User");
    }

    #[test]
    fn reads_the_reason_of_an_error_page() {
        let page = error_page("X", "No app with client_id \"<x>\"");
        assert_eq!(
            error_message(&page).unwrap(),
            "No app with client_id \"<x>\""
        );
        assert_eq!(error_message("<p>plain</p>"), None);
    }

    #[test]
    fn unescape_reverses_escape() {
        let text = "&lt; is written <, &amp;amp; is & \"'";
        assert_eq!(unescape(&escape(text)), text);
    }

    #[test]
    fn attributes_tolerate_bare_and_self_closing_forms() {
        let attrs = tag_attributes(r#" type="checkbox" checked value="x" />rest"#);
        assert_eq!(attribute(&attrs, "type"), Some("checkbox"));
        assert_eq!(attribute(&attrs, "checked"), Some(""));
        assert_eq!(attribute(&attrs, "value"), Some("x"));
    }
}
