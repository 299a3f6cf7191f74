//! The consent step every platform shares: check the authorization request, show the form, turn the
//! person's decision into a redirect back to the app with a code or an error.

use crate::html::{self, ConsentForm};
use crate::ids::PkceMethod;
use crate::request::Params;
use crate::simulator::Pkce;
use crate::state::{AuthCode, Challenge, Server};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use std::sync::Arc;
use url::Url;

/// The display name used when the form's `user` field is left empty.
pub(crate) const DEFAULT_USER: &str = "Sandbox User";

/// A checked authorization request.
struct AuthRequest {
    client_id: String,
    /// As registered (matched byte for byte) and as parsed, to append the answer to.
    redirect_uri: String,
    redirect: Url,
    state: Option<String>,
    scopes: Vec<String>,
    challenge: Option<Challenge>,
}

/// Splits a scope list on commas and spaces: Meta accepts either, and no scope contains one.
pub(crate) fn split_scopes(value: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in value.split([',', ' ']).filter(|s| !s.is_empty()) {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    scopes
}

/// Checks the request's parameters; `get` reads them from the query (the page) or the hidden fields (the
/// decision), so a tampered form is checked like a fresh request.
fn check_request(
    srv: &Server,
    get: impl Fn(&str) -> Option<String>,
) -> Result<AuthRequest, String> {
    let param = srv.simulator.client_param;
    let client_id = get(param).ok_or_else(|| format!("The request has no {param}."))?;
    let app = srv.app(&client_id).ok_or_else(|| {
        format!("No app with {param} \"{client_id}\" is registered with this sandbox.")
    })?;
    let redirect_uri = get("redirect_uri").ok_or("The request has no redirect_uri.")?;
    if !app.redirect_uris.contains(&redirect_uri) {
        return Err(format!(
            "The redirect_uri \"{redirect_uri}\" is not registered for the app \"{client_id}\" \
             (it must match a registered URI exactly)."
        ));
    }
    let redirect = Url::parse(&redirect_uri)
        .map_err(|_| format!("The redirect_uri \"{redirect_uri}\" is not an absolute URL."))?;
    // Meta's dialog defaults to a code; the others insist on being told.
    let response_type = get("response_type");
    let code_flow = match response_type.as_deref() {
        Some(r) => r == "code",
        None => srv.simulator.code_by_default,
    };
    if !code_flow {
        return Err(format!(
            "response_type must be \"code\" (got {}).",
            response_type.map_or("nothing".to_string(), |r| format!("\"{r}\""))
        ));
    }
    let challenge = match srv.simulator.pkce {
        Pkce::Unused => None,
        pkce => challenge(pkce, &get)?,
    };
    Ok(AuthRequest {
        client_id,
        redirect_uri,
        redirect,
        state: get("state"),
        scopes: get("scope").map(|s| split_scopes(&s)).unwrap_or_default(),
        challenge,
    })
}

fn challenge(
    pkce: Pkce,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Challenge>, String> {
    let Some(value) = get("code_challenge").filter(|c| !c.is_empty()) else {
        return match pkce {
            Pkce::Required { why } => Err(format!("Missing code_challenge: {why}.")),
            _ => Ok(None),
        };
    };
    let method_name = get("code_challenge_method");
    let method = PkceMethod::parse(method_name.as_deref()).ok_or_else(|| {
        format!(
            "Unsupported code_challenge_method \"{}\": use S256 or plain.",
            method_name.unwrap_or_default()
        )
    })?;
    Ok(Some(Challenge { value, method }))
}

fn error_page(srv: &Server, message: &str) -> Response {
    tracing::debug!(platform = %srv.platform, message, "authorization request refused");
    (
        StatusCode::BAD_REQUEST,
        Html(html::error_page(srv.display_name(), message)),
    )
        .into_response()
}

/// `GET` of the platform's authorize URL: the consent page, or an error page without redirect.
pub(crate) async fn page(State(srv): State<Arc<Server>>, params: Params) -> Response {
    let request = match check_request(&srv, |k| params.query(k).map(str::to_string)) {
        Ok(request) => request,
        Err(message) => return error_page(&srv, &message),
    };
    let mut hidden = vec![
        (srv.simulator.client_param, request.client_id.clone()),
        ("redirect_uri", request.redirect_uri.clone()),
        ("response_type", "code".to_string()),
        ("scope", request.scopes.join(srv.simulator.scope_separator)),
    ];
    if let Some(state) = &request.state {
        hidden.push(("state", state.clone()));
    }
    if let Some(challenge) = &request.challenge {
        hidden.push(("code_challenge", challenge.value.clone()));
        hidden.push((
            "code_challenge_method",
            challenge.method.as_str().to_string(),
        ));
    }
    let action = format!("{}/decide", params.path.trim_end_matches('/'));
    Html(html::consent_page(&ConsentForm {
        platform: srv.display_name(),
        client_id: &request.client_id,
        redirect_uri: &request.redirect_uri,
        action: &action,
        hidden: &hidden,
        scopes: &request.scopes,
    }))
    .into_response()
}

/// `POST` of the consent form: redirects to the app with a code (approve) or an error (deny).
pub(crate) async fn decide(State(srv): State<Arc<Server>>, params: Params) -> Response {
    let request = match check_request(&srv, |k| params.form(k).map(str::to_string)) {
        Ok(request) => request,
        Err(message) => return error_page(&srv, &message),
    };
    let mut answer: Vec<(&str, String)> = match params.form("decision") {
        Some("approve") => vec![("code", approve(&srv, &params, &request))],
        Some("deny") => {
            tracing::debug!(platform = %srv.platform, client_id = %request.client_id, "consent denied");
            srv.simulator
                .denial
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect()
        }
        _ => return error_page(&srv, "Choose Allow or Deny."),
    };
    if let Some(state) = request.state {
        answer.push(("state", state));
    }
    let mut target = request.redirect;
    // Appending keeps any query the registered redirect URI already has.
    target.query_pairs_mut().extend_pairs(answer);
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// Records the consent and returns the authorization code.
fn approve(srv: &Server, params: &Params, request: &AuthRequest) -> String {
    let name = params
        .form("user")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_USER)
        .to_string();
    let checked: Vec<&str> = params.form_all("scope").collect();
    let (scopes, declined): (Vec<String>, Vec<String>) = request
        .scopes
        .iter()
        .cloned()
        .partition(|s| checked.contains(&s.as_str()));
    let user_id = (srv.simulator.user_id)(&name);
    let now = Utc::now();
    let mut world = srv.world();
    world.ensure_user(&user_id, &name);
    let code = (srv.simulator.new_code)(&mut world);
    tracing::debug!(platform = %srv.platform, client_id = %request.client_id, %user_id, ?scopes, "consent approved");
    world.add_code(
        code.clone(),
        AuthCode::new(
            request.client_id.clone(),
            request.redirect_uri.clone(),
            user_id,
            scopes,
            declined,
            request.challenge.clone(),
            now,
        ),
    );
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_on_commas_and_spaces_without_duplicates() {
        assert_eq!(split_scopes("a,b c,,a"), ["a", "b", "c"]);
        assert!(split_scopes("").is_empty());
    }
}
