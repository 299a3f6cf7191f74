//! Links for account owners as the API shows them: never their token, which is answered once, at creation.

use chrono::{DateTime, Utc};
use iquivity_core::links::LinkState;
use iquivity_domain::{AccountId, ClientId, LinkId, LinkKind, Platform, UserId};
use iquivity_store::{LinkOutcome, LinkRecord, LinkUseRecord};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkView {
    pub id: LinkId,
    /// `connect` (connect accounts), `reconnect` (one account) or `access` (a client's access page).
    pub kind: LinkKind,
    /// `active`, `expired`, `revoked` or `used_up`.
    #[schema(value_type = String)]
    pub state: &'static str,
    /// The client accounts connected through it join; the client an access link shows.
    pub client_id: Option<ClientId>,
    /// The account a reconnect link is for.
    pub account_id: Option<AccountId>,
    /// The platforms a connect link offers; empty: every platform the server has.
    pub platforms: Vec<Platform>,
    pub note: Option<String>,
    /// Whether one connection uses it up.
    pub single_use: bool,
    /// Connections made through it so far.
    pub uses: u32,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl LinkView {
    pub fn of(link: LinkRecord, now: DateTime<Utc>) -> Self {
        LinkView {
            state: LinkState::of(&link, now).as_str(),
            id: link.id,
            kind: link.kind,
            client_id: link.client_id,
            account_id: link.account_id,
            platforms: link.platforms,
            note: link.note.map(|n| n.as_str().to_string()),
            single_use: link.max_uses == Some(1),
            uses: link.uses,
            created_by: link.created_by,
            created_at: link.created_at,
            expires_at: link.expires_at,
            revoked_at: link.revoked_at,
        }
    }
}

/// A link just made, with its address: shown this once, since only a digest of its token is kept.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedLinkView {
    /// The address to send to the account's owner.
    pub url: String,
    #[serde(flatten)]
    pub link: LinkView,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkedAccountView {
    pub id: AccountId,
    pub display_name: String,
}

/// One thing done through a link.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkUseView {
    pub at: DateTime<Utc>,
    /// `connected`, `wrong_account`, `removal_requested`, or a refused visit: `expired`, `revoked`, `used_up`.
    pub outcome: LinkOutcome,
    pub platform: Option<Platform>,
    /// What was connected (or asked to be removed), by the name it had then.
    pub accounts: Vec<LinkedAccountView>,
    pub detail: Option<String>,
}

impl From<LinkUseRecord> for LinkUseView {
    fn from(entry: LinkUseRecord) -> Self {
        LinkUseView {
            at: entry.at,
            outcome: entry.outcome,
            platform: entry.platform,
            accounts: entry
                .accounts
                .into_iter()
                .map(|a| LinkedAccountView {
                    id: a.id,
                    display_name: a.display_name,
                })
                .collect(),
            detail: entry.detail,
        }
    }
}
