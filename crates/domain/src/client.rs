//! Clients: the customers an agency manages accounts for. A workspace has clients; an account belongs to
//! at most one.

use crate::validation::bounded_text;
use crate::{ClientId, ValidationError, WorkspaceId};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Client {
    pub id: ClientId,
    pub workspace_id: WorkspaceId,
    pub name: ClientName,
    /// `#rrggbb`, shown beside the name.
    pub colour: Option<Colour>,
    pub created_at: DateTime<Utc>,
}

/// A client's name: unique in its workspace regardless of case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ClientName(String);

impl ClientName {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded_text("name", raw, 1, Self::MAX_CHARS).map(ClientName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What uniqueness is judged on: the name lower-cased in full Unicode.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A colour as `#rrggbb`, lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Colour(String);

impl Colour {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = raw.trim().to_ascii_lowercase();
        let hex = text.strip_prefix('#').unwrap_or_default();
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Colour(text))
        } else {
            Err(ValidationError::new(
                "colour",
                "must be a colour like #1f6feb",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_compared_without_case() {
        let name = ClientName::parse("  Acme Bäckerei ").unwrap();
        assert_eq!(name.as_str(), "Acme Bäckerei");
        assert_eq!(
            name.key(),
            ClientName::parse("ACME BÄCKEREI").unwrap().key()
        );
        assert_eq!(ClientName::parse(" ").unwrap_err().field, "name");
        assert!(ClientName::parse(&"a".repeat(81)).is_err());
        assert!(ClientName::parse(&"a".repeat(80)).is_ok());
    }

    #[test]
    fn colours_are_six_hex_digits() {
        assert_eq!(Colour::parse(" #1F6FEB ").unwrap().as_str(), "#1f6feb");
        for bad in ["1f6feb", "#1f6fe", "#1f6febb", "#zzzzzz", "red", ""] {
            assert_eq!(Colour::parse(bad).unwrap_err().field, "colour", "{bad}");
        }
    }
}
