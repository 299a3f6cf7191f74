use crate::named_enum;
use crate::validation::bounded_text;
use crate::ValidationError;
use serde::Serialize;
use std::fmt;

/// An email address, lower-cased so that one person has one address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = bounded_text("email", raw, 1, Self::MAX_CHARS)?.to_lowercase();
        let valid = match text.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !text.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if !valid {
            return Err(ValidationError::new(
                "email",
                "must be an email address like name@example.com",
            ));
        }
        Ok(Email(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed at sign-up: long enough to be worth hashing, short enough not to be a DoS vector.
/// Never printed: Debug is redacted.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let len = raw.chars().count();
        if len < Self::MIN_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if len > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Password(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// A workspace's name as people see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct WorkspaceName(String);

impl WorkspaceName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded_text("workspace_name", raw, 1, Self::MAX_CHARS).map(WorkspaceName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

named_enum! {
    /// What a member may do in a workspace.
    #[derive(Hash, PartialOrd, Ord)]
    pub enum Role {
        Owner = "owner",
        Admin = "admin",
        Member = "member",
    }
    unknown = |s| {
        ValidationError::new(
            "role",
            format!("unknown role {s:?}; expected one of owner, admin, member"),
        )
    };
}

impl Role {
    /// Owners and admins connect, relabel and remove accounts.
    pub fn can_manage_accounts(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Only owners invite people and change the workspace itself.
    pub fn can_invite(self) -> bool {
        self == Role::Owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@.example.com",
            "ann@example.com.",
            "ann@b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let email = Email::parse("Bob@Example.org").unwrap();
        assert_eq!(email.to_string(), "bob@example.org");
    }

    #[test]
    fn passwords_are_bounded_and_never_printed() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        let p = Password::parse("correct horse battery").unwrap();
        let printed = format!("{p:?}");
        assert_eq!(printed, "Password([redacted])");
        assert!(!printed.contains("horse"));
    }

    #[test]
    fn a_password_is_kept_exactly_as_typed_from_ten_to_128_characters() {
        let shortest = "a".repeat(Password::MIN_CHARS);
        assert_eq!(Password::parse(&shortest).unwrap().expose(), shortest);
        let longest = "é".repeat(Password::MAX_CHARS);
        assert_eq!(Password::parse(&longest).unwrap().expose(), longest);
        assert_eq!(
            Password::parse(" spaced  out ").unwrap().expose(),
            " spaced  out "
        );
        assert_eq!(Password::parse("nine char").unwrap_err().field, "password");
    }

    #[test]
    fn a_workspace_name_is_trimmed_and_bounded() {
        assert_eq!(
            WorkspaceName::parse(" Ann Agency ").unwrap().as_str(),
            "Ann Agency"
        );
        let err = WorkspaceName::parse(&"w".repeat(WorkspaceName::MAX_CHARS + 1)).unwrap_err();
        assert_eq!(err.field, "workspace_name");
    }

    #[test]
    fn owners_and_admins_manage_accounts_and_only_owners_invite() {
        assert!(Role::Owner.can_manage_accounts());
        assert!(Role::Admin.can_manage_accounts());
        assert!(!Role::Member.can_manage_accounts());
        assert!(Role::Owner.can_invite());
        assert!(!Role::Admin.can_invite());
        assert!(!Role::Member.can_invite());
    }
}
