//! Links for the people who own the accounts an agency manages (docs/agencies.md): the agency's side
//! here (create, list, revoke, read the log), the owner's side, reached with the link's token and no
//! sign-in, in `visitor.rs`.
//!
//! A link is one of three kinds: connect accounts (for a client or for none, on chosen platforms),
//! reconnect one account, or read a client's accounts. Only the SHA-256 of its token is stored; the token
//! is answered once, to its creator. A link acts with its creator's authority, checked at each use: a
//! creator who is no longer an owner or admin of the workspace leaves links that no longer work.

use crate::secrets::{digest, new_secret};
use crate::{Caller, Core, CoreError};
use chrono::Duration;
use iquivity_domain::{
    AccountId, AccountStatus, ClientId, LinkId, LinkKind, LinkNote, Platform, LINK_DEFAULT_DAYS,
    LINK_MAX_DAYS,
};
use iquivity_store::{LinkOutcome, LinkRecord, LinkUseRecord};
use secrecy::SecretString;
use std::collections::HashMap;

mod visitor;

pub use visitor::{AccessAccount, AccessView, LinkFlowView, LinkVisit};

/// The prefix of every link token, so that a leaked one is recognisable to secret scanners.
const TOKEN_PREFIX: &str = "iql_";

/// What a connect link is asked to be.
#[derive(Debug, Clone, Default)]
pub struct NewConnectLink {
    pub client_id: Option<ClientId>,
    /// The platforms offered; empty: every platform this server has.
    pub platforms: Vec<Platform>,
    /// 1 to 30; `None`: 7.
    pub expires_in_days: Option<u32>,
    /// Whether one connection uses it up (the default) or it can be used until it expires.
    pub single_use: Option<bool>,
    pub note: Option<String>,
}

/// A link just made: the record, and its token, which is not kept and is shown this once.
pub struct CreatedLink {
    pub link: LinkRecord,
    pub token: SecretString,
}

/// Where a link stands, as its creator reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Active,
    Expired,
    Revoked,
    UsedUp,
}

impl LinkState {
    pub fn of(link: &LinkRecord, now: chrono::DateTime<chrono::Utc>) -> Self {
        match link.refusal(now) {
            None => LinkState::Active,
            Some(LinkOutcome::Revoked) => LinkState::Revoked,
            Some(LinkOutcome::UsedUp) => LinkState::UsedUp,
            Some(_) => LinkState::Expired,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Active => "active",
            LinkState::Expired => "expired",
            LinkState::Revoked => "revoked",
            LinkState::UsedUp => "used_up",
        }
    }
}

fn lifetime(days: Option<u32>) -> Result<Duration, CoreError> {
    let days = days.unwrap_or(LINK_DEFAULT_DAYS);
    if !(1..=LINK_MAX_DAYS).contains(&days) {
        return Err(CoreError::invalid(
            "expires_in_days",
            format!("must be from 1 to {LINK_MAX_DAYS} days"),
        ));
    }
    Ok(Duration::days(i64::from(days)))
}

fn note(raw: Option<&str>) -> Result<Option<LinkNote>, CoreError> {
    Ok(raw
        .filter(|n| !n.trim().is_empty())
        .map(LinkNote::parse)
        .transpose()?)
}

impl Core {
    /// Stores a new link for `caller`'s workspace and answers it with its token.
    async fn issue_link(
        &self,
        caller: &Caller,
        shape: LinkShape,
        expires_in: Duration,
        note: Option<LinkNote>,
    ) -> Result<CreatedLink, CoreError> {
        let token = new_secret(TOKEN_PREFIX);
        let now = self.clock.now();
        let link = LinkRecord {
            id: LinkId::new(),
            workspace_id: caller.workspace_id,
            kind: shape.kind,
            token_hash: digest(secrecy::ExposeSecret::expose_secret(&token)),
            client_id: shape.client_id,
            account_id: shape.account_id,
            platforms: shape.platforms,
            note,
            max_uses: shape.max_uses,
            uses: 0,
            created_by: caller.user_id,
            created_at: now,
            expires_at: now + expires_in,
            revoked_at: None,
        };
        self.store.create_link(&link).await?;
        tracing::info!(link_id = %link.id, kind = %link.kind, workspace_id = %caller.workspace_id, "link created");
        Ok(CreatedLink { link, token })
    }

    /// The platforms this server can connect, of those asked for (all of them when none are).
    fn offered(&self, asked: &[Platform]) -> Result<Vec<Platform>, CoreError> {
        for platform in asked {
            self.adapter(*platform).map_err(|_| {
                CoreError::invalid(
                    "platforms",
                    format!(
                        "{} is not configured on this server",
                        platform.display_name()
                    ),
                )
            })?;
        }
        let mut platforms = asked.to_vec();
        platforms.sort_by_key(|p| p.as_str());
        platforms.dedup();
        Ok(platforms)
    }

    /// A link with which an account's owner connects accounts of the chosen platforms into the workspace,
    /// for the chosen client, without signing in here.
    pub async fn create_connect_link(
        &self,
        caller: &Caller,
        new: NewConnectLink,
    ) -> Result<CreatedLink, CoreError> {
        caller.require_manage_accounts()?;
        let expires_in = lifetime(new.expires_in_days)?;
        let note = note(new.note.as_deref())?;
        if let Some(client) = new.client_id {
            self.client(caller, client).await?;
        }
        let shape = LinkShape {
            kind: LinkKind::Connect,
            client_id: new.client_id,
            account_id: None,
            platforms: self.offered(&new.platforms)?,
            max_uses: new.single_use.unwrap_or(true).then_some(1),
        };
        self.issue_link(caller, shape, expires_in, note).await
    }

    /// "Ask the owner to reconnect": a single-use link that takes only the consent of this account.
    pub async fn request_reconnect(
        &self,
        caller: &Caller,
        account: AccountId,
        note_text: Option<&str>,
        expires_in_days: Option<u32>,
    ) -> Result<CreatedLink, CoreError> {
        caller.require_manage_accounts()?;
        let expires_in = lifetime(expires_in_days)?;
        let note = note(note_text)?;
        let account = self.account(caller, account).await?;
        if account.status == AccountStatus::Active {
            return Err(CoreError::invalid(
                "account",
                format!(
                    "{} is Active: there is nothing to reconnect",
                    account.display_name
                ),
            ));
        }
        let shape = LinkShape {
            kind: LinkKind::Reconnect,
            client_id: account.client_id,
            account_id: Some(account.id),
            platforms: vec![account.platform],
            max_uses: Some(1),
        };
        self.issue_link(caller, shape, expires_in, note).await
    }

    /// A link to the client's access page: what the agency holds for the client, read-only.
    pub async fn create_access_link(
        &self,
        caller: &Caller,
        client: ClientId,
        expires_in_days: Option<u32>,
    ) -> Result<CreatedLink, CoreError> {
        caller.require_manage_accounts()?;
        let expires_in = lifetime(expires_in_days)?;
        self.client(caller, client).await?;
        let shape = LinkShape {
            kind: LinkKind::Access,
            client_id: Some(client),
            account_id: None,
            platforms: Vec::new(),
            max_uses: None,
        };
        self.issue_link(caller, shape, expires_in, None).await
    }

    /// The workspace's links of every kind, newest first.
    pub async fn links(&self, caller: &Caller) -> Result<Vec<LinkRecord>, CoreError> {
        caller.require_manage_accounts()?;
        Ok(self.store.links(caller.workspace_id).await?)
    }

    pub async fn link(&self, caller: &Caller, id: LinkId) -> Result<LinkRecord, CoreError> {
        caller.require_manage_accounts()?;
        self.store
            .link(caller.workspace_id, id)
            .await?
            .ok_or(CoreError::NotFound("link"))
    }

    /// What was done through a link, oldest first.
    pub async fn link_uses(
        &self,
        caller: &Caller,
        id: LinkId,
    ) -> Result<Vec<LinkUseRecord>, CoreError> {
        let link = self.link(caller, id).await?;
        Ok(self.store.link_uses(link.id).await?)
    }

    /// Revokes a link at once; revoking one already revoked changes nothing.
    pub async fn revoke_link(&self, caller: &Caller, id: LinkId) -> Result<LinkRecord, CoreError> {
        let link = self.link(caller, id).await?;
        if self
            .store
            .revoke_link(caller.workspace_id, id, self.clock.now())
            .await?
        {
            tracing::info!(link_id = %id, workspace_id = %caller.workspace_id, "link revoked");
        }
        self.link(caller, link.id).await
    }

    /// The reconnect requests still open, by account: shown on the account until used or expired.
    pub async fn open_reconnect_requests(
        &self,
        caller: &Caller,
    ) -> Result<HashMap<AccountId, LinkRecord>, CoreError> {
        if !caller.role.can_manage_accounts() {
            return Ok(HashMap::new());
        }
        let now = self.clock.now();
        let mut open = HashMap::new();
        // Newest first: the first open request of an account is the one to show.
        for link in self.store.links(caller.workspace_id).await? {
            if let (LinkKind::Reconnect, Some(account), None) =
                (link.kind, link.account_id, link.refusal(now))
            {
                open.entry(account).or_insert(link);
            }
        }
        Ok(open)
    }
}

/// What a link is for, before it gets its token and times.
struct LinkShape {
    kind: LinkKind,
    client_id: Option<ClientId>,
    account_id: Option<AccountId>,
    platforms: Vec<Platform>,
    max_uses: Option<u32>,
}
