//! Extractors: the signed-in caller, and JSON bodies whose every rejection is a problem+json.

use crate::error::AppError;
use crate::pages::auth::{field, form_fields};
use crate::pages::csrf_token;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, RawForm, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use iquivity_core::Caller;
use serde::de::DeserializeOwned;

pub const SESSION_COOKIE: &str = "iquivity_session";

/// The session id from the `Cookie` header, if any.
pub struct SessionCookie(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SessionCookie {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(SessionCookie(session_cookie(parts)))
    }
}

/// The session id from the cookie, for an unsafe request that acts on the session itself (sign-out): a
/// browser's request must carry the session's CSRF token, as for every other cookie-authenticated change,
/// so that another site cannot end someone's session.
pub struct CheckedSessionCookie(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for CheckedSessionCookie {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let session = session_cookie(parts);
        if let Some(session) = &session {
            check_browser_csrf(parts, session)?;
        }
        Ok(CheckedSessionCookie(session))
    }
}

fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, SESSION_COOKIE).map(str::to_string)
}

/// The value of the request's cookie `name`, from any of its `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value)
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The caller, from `Authorization: Bearer <token>` or the session cookie; 401 otherwise.
pub struct Authenticated(pub Caller);

// Every router here has the one state, so the extractors take it as it is.
impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = if let Some(token) = bearer_token(parts) {
            state.core.caller_from_token(token).await?
        } else if let Some(session) = session_cookie(parts) {
            check_browser_csrf(parts, &session)?;
            state.core.caller_from_session(&session).await?
        } else {
            return Err(iquivity_core::CoreError::Unauthenticated.into());
        };
        tracing::Span::current().record("user_id", tracing::field::display(caller.user_id));
        tracing::Span::current()
            .record("workspace_id", tracing::field::display(caller.workspace_id));
        Ok(Authenticated(caller))
    }
}

/// A browser's state-changing request authenticated by the session cookie must carry the session's CSRF
/// token in `X-CSRF-Token` (the page's script sends it). Browsers mark their requests with `Origin` or
/// `Sec-Fetch-Site`; API clients that hold a cookie but are not browsers are not exposed to CSRF.
fn check_browser_csrf(parts: &Parts, session: &str) -> Result<(), AppError> {
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let from_browser =
        parts.headers.contains_key(header::ORIGIN) || parts.headers.contains_key("sec-fetch-site");
    if !unsafe_method || !from_browser {
        return Ok(());
    }
    let sent = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    if sent == Some(csrf_token(session).as_str()) {
        Ok(())
    } else {
        Err(csrf_refused())
    }
}

pub fn csrf_refused() -> AppError {
    AppError::new(
        StatusCode::FORBIDDEN,
        "/problems/csrf",
        "Form expired",
        "this request is not from your current session's page; reload the page and try again",
    )
}

/// The signed-in caller and their session id, for HTML form posts: the handler checks the form's CSRF
/// field itself (the token travels in the body, not a header).
pub struct SessionCaller {
    pub caller: Caller,
    pub session: String,
}

impl FromRequestParts<AppState> for SessionCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = session_cookie(parts).ok_or(iquivity_core::CoreError::Unauthenticated)?;
        let caller = state.core.caller_from_session(&session).await?;
        Ok(SessionCaller { caller, session })
    }
}

impl SessionCaller {
    /// Checks the CSRF field of a submitted form.
    pub fn check_form(&self, sent: Option<&str>) -> Result<(), AppError> {
        if sent == Some(csrf_token(&self.session).as_str()) {
            Ok(())
        } else {
            Err(csrf_refused())
        }
    }
}

/// The signed-in caller of a page, and their session; anyone else is sent to the sign-in page.
pub struct PageCaller {
    pub caller: Caller,
    pub session: String,
}

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match SessionCaller::from_request_parts(parts, state).await {
            Ok(SessionCaller { caller, session }) => Ok(PageCaller { caller, session }),
            Err(_) => Err((StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response()),
        }
    }
}

/// An HTML form post from the signed-in caller with its CSRF field checked: the caller, their session and
/// the form's fields.
pub struct CheckedForm {
    pub caller: Caller,
    pub session: String,
    pub fields: Vec<(String, String)>,
}

impl FromRequest<AppState> for CheckedForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let SessionCaller { caller, session } =
            SessionCaller::from_request_parts(&mut parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
        let RawForm(form) = RawForm::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields = form_fields(&form);
        if field(&fields, "csrf") != Some(csrf_token(&session).as_str()) {
            return Err(csrf_refused().into_response());
        }
        Ok(CheckedForm {
            caller,
            session,
            fields,
        })
    }
}

/// A JSON body. Unlike `axum::Json`, each way it can be wrong answers problem+json naming the field at fault.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "/problems/unsupported-media-type",
                "JSON expected",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| match rejection {
                BytesRejection::FailedToBufferBody(_)
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
                {
                    AppError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "/problems/payload-too-large",
                        "Body too large",
                        "the request body is larger than the 1 MiB limit",
                    )
                }
                other => AppError::new(
                    other.status(),
                    "/problems/bad-request",
                    "Bad request",
                    other.body_text(),
                ),
            })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
            let field = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    "/problems/malformed-json",
                    "Malformed JSON",
                    format!("the body is not valid JSON: {inner}"),
                )
            } else {
                let field = if field == "." {
                    "body".to_string()
                } else {
                    field
                };
                AppError::validation(vec![iquivity_domain::ValidationError::new(
                    field,
                    inner.to_string(),
                )])
            }
        })?;
        deserializer.end().map_err(|e| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "/problems/malformed-json",
                "Malformed JSON",
                format!("the body has trailing data after the JSON value: {e}"),
            )
        })?;
        Ok(JsonBody(value))
    }
}
