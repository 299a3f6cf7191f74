//! Every error leaves as RFC 9457 `application/problem+json` with a stable `type`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use iquivity_core::{CoreError, ErrorChain};
use iquivity_domain::ValidationError;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// For validation problems: each input at fault and what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// On server errors: the id of this request in the service's log, to quote when reporting it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The error type of every handler. Boxed: the problem is large and every handler's `Result` carries it.
#[derive(Debug)]
pub struct AppError(Box<Problem>);

impl AppError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        AppError(Box::new(Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            request_id: None,
        }))
    }

    pub fn validation(errors: Vec<ValidationError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/validation",
            "Invalid input",
            detail,
        );
        err.0.errors = errors
            .into_iter()
            .map(|e| FieldError {
                field: e.field,
                message: e.message,
            })
            .collect();
        err
    }

    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut err = Self::new(
            StatusCode::BAD_REQUEST,
            "/problems/bad-request",
            "Bad request",
            format!("{field}: {message}"),
        );
        err.0.errors.push(FieldError {
            field: field.to_string(),
            message,
        });
        err
    }

    pub fn problem(&self) -> &Problem {
        &self.0
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "/problems/not-found",
            "Not found",
            format!("{what} not found"),
        )
    }
}

impl From<CoreError> for AppError {
    fn from(err: CoreError) -> Self {
        match err {
            CoreError::Validation(errors) => AppError::validation(errors),
            CoreError::Unauthenticated => AppError::new(
                StatusCode::UNAUTHORIZED,
                "/problems/unauthenticated",
                "Sign in required",
                err.to_string(),
            ),
            CoreError::BadCredentials => AppError::new(
                StatusCode::UNAUTHORIZED,
                "/problems/bad-credentials",
                "Wrong email or password",
                err.to_string(),
            ),
            CoreError::Forbidden(detail) => AppError::new(
                StatusCode::FORBIDDEN,
                "/problems/forbidden",
                "Not allowed",
                detail,
            ),
            CoreError::NotFound(what) => AppError::not_found(what),
            CoreError::Conflict(detail) => AppError::new(
                StatusCode::CONFLICT,
                "/problems/conflict",
                "Conflict",
                detail,
            ),
            CoreError::PlanLimit(detail) => AppError::new(
                StatusCode::FORBIDDEN,
                "/problems/plan-limit-reached",
                "Plan limit reached",
                detail,
            ),
            CoreError::RateLimited { retry_after_secs } => {
                let mut e = AppError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "/problems/rate-limited",
                    "Too many attempts",
                    err.to_string(),
                );
                e.0.retry_after = Some(retry_after_secs);
                e
            }
            CoreError::Internal { .. } => {
                tracing::error!(error = %ErrorChain(&err), "internal error");
                AppError::internal()
            }
        }
    }
}

impl AppError {
    pub fn internal() -> Self {
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/problems/internal",
            "Internal error",
            "something went wrong on our side; it has been logged",
        )
    }
}

/// The longest request address (path and query) the service takes. hyper answers an empty 414 itself
/// past 64 KiB, before a request exists; below that, this limit answers a problem like every other error.
pub const MAX_URI_BYTES: usize = 16 * 1024;

/// Makes every error the service answers a problem+json, whoever produced it: axum's extractors answer
/// `text/plain` (a body over the limit, a form sent as JSON, a repeated query parameter) and some layers
/// answer with no body at all. A server error never carries what went wrong inside, only the request id
/// under which the log has it. Pages' own HTML answers (a form shown again with its errors) are kept.
/// Marks a server-error answer written on purpose with nothing internal in it (the readiness probe's
/// report), which is passed on instead of being replaced by the generic internal error.
#[derive(Clone, Copy)]
pub struct Deliberate;

pub async fn problem_responses(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let uri_length = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_length > MAX_URI_BYTES {
        return problem_for_status(StatusCode::URI_TOO_LONG, None).into_response();
    }
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Deliberate>().is_some()
    {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let is_problem = content_type.starts_with("application/problem+json");
    if status.is_server_error() {
        let mut problem = AppError::internal();
        problem.0.request_id = request_id;
        return problem.into_response();
    }
    if is_problem || content_type.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum's rejections explain what was wrong with the input in a line of text; anything longer is
    // not one of them and is not passed on.
    let text = axum::body::to_bytes(body, 1024)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .filter(|t| content_type.starts_with("text/plain") && !t.trim().is_empty());
    let mut problem = problem_for_status(status, text);
    problem.0.retry_after = parts
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut answer = problem.into_response();
    for name in [header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// The problem for an error status that arrived without one.
fn problem_for_status(status: StatusCode, text: Option<String>) -> AppError {
    let (kind, title, detail) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "/problems/payload-too-large",
            "Body too large",
            "the request body is larger than this route takes (1 MiB; 50 MiB for a media upload)"
                .to_string(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "/problems/unsupported-media-type",
            "Unsupported body type",
            text.unwrap_or_else(|| "this route does not take a body of this Content-Type".into()),
        ),
        StatusCode::URI_TOO_LONG => (
            "/problems/uri-too-long",
            "Address too long",
            format!(
                "the request's address is longer than the {MAX_URI_BYTES} bytes the service takes"
            ),
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "/problems/headers-too-large",
            "Headers too large",
            "the request's headers are larger than the service takes".to_string(),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "/problems/method-not-allowed",
            "Method not allowed",
            "this route does not accept that HTTP method; see /api/v1/openapi.json".to_string(),
        ),
        StatusCode::NOT_FOUND => (
            "/problems/not-found",
            "Not found",
            "no such page or API route; the API is described at /api/v1/openapi.json".to_string(),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => (
            "/problems/validation",
            "Invalid input",
            text.unwrap_or_else(|| "the request's input is not valid".into()),
        ),
        _ => (
            "/problems/bad-request",
            "Bad request",
            text.unwrap_or_else(|| {
                format!(
                    "the request could not be handled ({})",
                    status.canonical_reason().unwrap_or("client error")
                )
            }),
        ),
    };
    AppError::new(status, kind, title, detail)
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.0.retry_after;
        let mut response = (status, axum::Json(self.0)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                headers.insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
