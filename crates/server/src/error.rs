//! Every error leaves as RFC 9457 `application/problem+json` with a stable `type`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use iquivity_core::CoreError;
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
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The error type of every handler.
#[derive(Debug)]
pub struct AppError(Problem);

impl AppError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        AppError(Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        })
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
            CoreError::Internal(context) => {
                tracing::error!(error = %context, "internal error");
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
