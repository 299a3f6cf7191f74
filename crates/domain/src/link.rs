//! Links handed to the people who own the accounts an agency manages, so that they act without an
//! account of their own here: connect accounts, reconnect one, or see what the agency holds for a client.

use crate::named_enum;
use crate::validation::bounded_text;
use crate::ValidationError;
use serde::Serialize;

named_enum! {
    /// What a link lets its holder do; each link does one thing only.
    pub enum LinkKind {
        /// Connect accounts of the allowed platforms into the workspace (for a client, or for none).
        Connect = "connect",
        /// Connect again, through the platform's consent, the one account the link names.
        Reconnect = "reconnect",
        /// Read a client's accounts: what is held, who connected it, and the permissions granted.
        Access = "access",
    }
}

/// How long a link lasts unless its creator chooses otherwise.
pub const LINK_DEFAULT_DAYS: u32 = 7;
/// The longest a link may last: a leaked link stops working within a month whatever was chosen.
pub const LINK_MAX_DAYS: u32 = 30;

/// A note for the person the link is for, shown on the link's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct LinkNote(String);

impl LinkNote {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded_text("note", raw, 1, Self::MAX_CHARS).map(LinkNote)
    }

    /// As stored; read back without checking again.
    pub fn stored(raw: String) -> Self {
        LinkNote(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_bounded_and_kinds_read_back_as_written() {
        assert!(LinkNote::parse("Hi Ann, please connect the bakery's Page").is_ok());
        assert!(LinkNote::parse("  ").is_err());
        assert!(LinkNote::parse(&"a".repeat(501)).is_err());
        for kind in LinkKind::ALL {
            assert_eq!(LinkKind::parse(kind.as_str()), Some(kind));
        }
    }
}
