use iquivity_domain::ValidationError;
use iquivity_store::StoreError;
use std::error::Error as StdError;
use std::fmt;

/// The cause of an internal error, kept whole so the log can show the chain.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

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
    /// This service failed (its database, its vault, a task, a bug), not the request: `context` says what
    /// was being done, `source` what failed. Both are for the log only, never for a client.
    #[error("internal error: {context}")]
    Internal {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl CoreError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        CoreError::Validation(vec![ValidationError::new(field, message)])
    }

    /// An internal failure with no underlying error (a broken expectation of this service).
    pub fn internal(context: impl Into<String>) -> Self {
        CoreError::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// An internal failure while doing `context`, caused by `source`.
    pub fn internal_from(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        CoreError::Internal {
            context: context.into(),
            source: Some(source.into()),
        }
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
            other => CoreError::internal_from("the store failed", other),
        }
    }
}

impl From<iquivity_vault::VaultError> for CoreError {
    fn from(err: iquivity_vault::VaultError) -> Self {
        CoreError::internal_from("the vault failed", err)
    }
}

/// Shows an error with every cause under it, for the log: `error = %ErrorChain(&err)`.
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut cause = self.0.source();
        while let Some(err) = cause {
            let text = err.to_string();
            // Some errors already print their cause in their own message; it is not repeated.
            if !shown.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            shown = text;
            cause = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_keeps_its_cause_and_the_chain_shows_it() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device");
        let err = CoreError::from(StoreError::Files(io));
        let source = err.source().expect("the store error is kept");
        assert!(source.downcast_ref::<StoreError>().is_some());
        assert_eq!(
            ErrorChain(&err).to_string(),
            "internal error: the store failed: cannot prepare the database files: no space left on device"
        );
        // What a client could ever see of it holds none of the cause.
        assert_eq!(err.to_string(), "internal error: the store failed");
    }

    #[test]
    fn a_cause_its_error_already_prints_is_not_repeated() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer: {0}")]
        struct Outer(#[source] std::io::Error);
        let err = CoreError::internal_from("saving", Outer(std::io::Error::other("inner words")));
        assert_eq!(
            ErrorChain(&err).to_string(),
            "internal error: saving: outer: inner words"
        );
    }
}
