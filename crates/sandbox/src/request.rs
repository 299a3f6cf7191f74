//! One extractor for every endpoint: the platforms take their parameters from the query string, a form
//! body or a JSON body (Meta accepts all three for the same field), and credentials from headers.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

pub(crate) struct Params {
    pub path: String,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    /// The body, when it was sent as JSON.
    pub json: Option<Value>,
    /// Why the body could not be read as the content type it claimed.
    pub body_error: Option<String>,
    pub headers: HeaderMap,
    /// The fields of a `multipart/form-data` body.
    pub parts: Vec<FormPart>,
    /// The body as sent (empty for a multipart one, which is in `parts`): what an upload carries.
    pub raw: Bytes,
}

/// One field of a multipart body.
pub(crate) struct FormPart {
    pub name: String,
    pub bytes: Bytes,
}

impl Params {
    /// The multipart field named `name`.
    pub(crate) fn part(&self, name: &str) -> Option<&FormPart> {
        self.parts.iter().find(|p| p.name == name)
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let path = req.uri().path().to_string();
        let query = req
            .uri()
            .query()
            .map(|q| pairs(q.as_bytes()))
            .unwrap_or_default();
        let headers = req.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut params = Params {
            path,
            query,
            form: Vec::new(),
            json: None,
            body_error: None,
            headers,
            parts: Vec::new(),
            raw: Bytes::new(),
        };
        // Read by axum's parser from the request itself, so that the route's body limit applies.
        if content_type.starts_with("multipart/form-data") {
            match multipart_fields(req, state).await {
                Ok(parts) => params.parts = parts,
                Err(error) => params.body_error = Some(error),
            }
            return Ok(params);
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if body.is_empty() {
            return Ok(params);
        }
        params.raw = body.clone();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            params.form = pairs(&body);
        } else if content_type.starts_with("application/json")
            || (content_type.is_empty() && body.starts_with(b"{"))
        {
            match serde_json::from_slice(&body) {
                Ok(value) => params.json = Some(value),
                Err(err) => params.body_error = Some(format!("invalid JSON body: {err}")),
            }
        }
        Ok(params)
    }
}

fn pairs(input: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(input).into_owned().collect()
}

impl Params {
    /// The query string's pairs, in order.
    pub(crate) fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }

    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        find(&self.query, key)
    }

    /// A form field (body only).
    pub(crate) fn form(&self, key: &str) -> Option<&str> {
        find(&self.form, key)
    }

    /// Every value of a repeated form field (checkboxes).
    pub(crate) fn form_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.form
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter from the query, the form body or the JSON body's top level, in that order.
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        if let Some(v) = self.query(key).or_else(|| self.form(key)) {
            return Some(v.to_string());
        }
        match self.json.as_ref()?.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The token of `Authorization: Bearer …`.
    pub(crate) fn bearer(&self) -> Option<&str> {
        bearer(&self.headers)
    }

    /// The client id and secret of `Authorization: Basic base64(id:secret)`.
    pub(crate) fn basic(&self) -> Option<(String, String)> {
        let value = self.header(header::AUTHORIZATION.as_str())?;
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        Some((id.to_string(), secret.to_string()))
    }
}

/// The token of `Authorization: Bearer …` (the scheme name is case-insensitive, RFC 9110 §11.1).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn find<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The fields of a multipart body.
async fn multipart_fields<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Vec<FormPart>, String> {
    let invalid = |e: &dyn std::fmt::Display| format!("invalid multipart body: {e}");
    let mut multipart = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| invalid(&e))?;
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| invalid(&e))? {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| invalid(&e))?;
        parts.push(FormPart { name, bytes });
    }
    Ok(parts)
}
