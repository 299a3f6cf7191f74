use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id, so ids sort by creation and never reveal a count.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A connected social media account.
    AccountId
);
uuid_id!(
    /// A person who signs in.
    UserId
);
uuid_id!(
    /// A team's space: its accounts, members and plan.
    WorkspaceId
);
uuid_id!(
    /// A personal API token.
    TokenId
);
uuid_id!(
    /// A client of the workspace (an agency's customer) whose accounts it manages.
    ClientId
);
uuid_id!(
    /// An invitation to join a workspace.
    InvitationId
);
uuid_id!(
    /// A link handed to an account's owner: to connect accounts, to reconnect one, or to see a client's
    /// accounts.
    LinkId
);
