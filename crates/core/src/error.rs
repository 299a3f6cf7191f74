use iquivity_domain::ValidationError;
use iquivity_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("invalid input")]
    Validation(Vec<ValidationError>),
    #[error("sign in first: the session or token is missing, expired or revoked")]
    Unauthenticated,
    #[error("the email or password is wrong")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PlanLimit(String),
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        CoreError::Validation(vec![ValidationError::new(field, message)])
    }
}

impl From<ValidationError> for CoreError {
    fn from(err: ValidationError) -> Self {
        CoreError::Validation(vec![err])
    }
}

impl From<StoreError> for CoreError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::PlanLimit(message) => CoreError::PlanLimit(message),
            StoreError::Duplicate(what) => CoreError::Conflict(format!("{what} already exists")),
            other => CoreError::Internal(other.to_string()),
        }
    }
}

impl From<iquivity_vault::VaultError> for CoreError {
    fn from(err: iquivity_vault::VaultError) -> Self {
        CoreError::Internal(err.to_string())
    }
}
