//! The world a sandbox server keeps (and can save): its users, the OAuth codes, grants and tokens, and what
//! was posted and commented. The bookkeeping is shared by every platform; what differs (envelopes,
//! lifetimes, rotation) lives in the platform modules.

use crate::linkedin::{images as linkedin_images, videos as linkedin_videos};
use crate::{meta, tiktok, x};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

use super::CODE_LIFETIME;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct User {
    pub id: String,
    pub name: String,
}

/// A PKCE challenge sent with the authorization request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Challenge {
    pub value: String,
    pub method: crate::ids::PkceMethod,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub declined: Vec<String>,
    pub challenge: Option<Challenge>,
    pub expires_at: DateTime<Utc>,
    used: bool,
}

impl AuthCode {
    pub(crate) fn new(
        client_id: String,
        redirect_uri: String,
        user_id: String,
        scopes: Vec<String>,
        declined: Vec<String>,
        challenge: Option<Challenge>,
        now: DateTime<Utc>,
    ) -> AuthCode {
        AuthCode {
            client_id,
            redirect_uri,
            user_id,
            scopes,
            declined,
            challenge,
            expires_at: now + CODE_LIFETIME,
            used: false,
        }
    }
}

/// Why an authorization code was refused at the token endpoint.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CodeError {
    Unknown,
    Used,
    Expired,
    /// Issued to another client.
    WrongClient,
    /// `redirect_uri` differs from the authorization request's.
    RedirectMismatch,
}

/// How a grant ended, which some platforms tell apart (Meta subcodes 458 and 460).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RevokeReason {
    /// The person removed the app, or the app revoked its own token.
    AppRemoved,
    /// The person changed their password (Meta invalidates every session).
    PasswordChanged,
}

/// One consent: a person, an app and the scopes they granted. Tokens hang off a grant, so revoking it
/// ends all of them at once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Grant {
    pub user_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Requested but not granted, or removed since (Meta reports these as `declined`).
    pub declined: Vec<String>,
    pub revoked: Option<RevokeReason>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum TokenKind {
    /// A user access token (Meta: the short-lived one from the code exchange).
    Access,
    /// Meta's long-lived user token from `fb_exchange_token`.
    LongLived,
    /// A Meta Page token, for the Page with this id.
    Page(String),
    Refresh,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Token {
    pub grant: usize,
    pub kind: TokenKind,
    pub expires_at: Option<DateTime<Utc>>,
    /// A refresh token already exchanged on a platform that rotates them.
    pub rotated: bool,
}

/// Who is calling, once an access token checked out.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub grant: usize,
    pub user_id: String,
    pub user_name: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub kind: TokenKind,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Caller {
    pub(crate) fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why an access token was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    Missing,
    Unknown,
    Expired(DateTime<Utc>),
    Revoked(RevokeReason),
}

/// Why a refresh token was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RefreshError {
    Unknown,
    WrongClient,
    /// Already exchanged on a rotating platform.
    Rotated,
    Revoked,
    Expired,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Post {
    pub id: String,
    pub author: String,
    pub text: String,
    /// When it was created (the Unix epoch for posts saved before this was kept).
    #[serde(default)]
    pub at: DateTime<Utc>,
}

/// Everything a server remembers across requests, and, with a state directory, across processes. The
/// field names are the saved file's: renaming one loses that part of existing files.
#[derive(Default, Serialize, Deserialize)]
// A file saved before a field existed still loads, with that field empty.
#[serde(default)]
pub(crate) struct World {
    users: BTreeMap<String, User>,
    codes: HashMap<String, AuthCode>,
    grants: Vec<Grant>,
    tokens: HashMap<String, Token>,
    posts: Vec<Post>,
    revocations: u64,
    serial: u64,
    pub meta: meta::MetaState,
    pub x: x::XState,
    pub tiktok: tiktok::TiktokState,
    pub linkedin_images: linkedin_images::ImageState,
    pub linkedin_videos: linkedin_videos::VideoState,
    comments: Vec<Comment>,
    /// While set (`POST /_sandbox/comments {"refuse": true}`), every comment (and, on X, every reply) is
    /// refused: how tests make a first comment or a thread's next part fail while its post succeeds.
    pub refuse_comments: bool,
}

/// A comment under a post (on X, a reply).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Comment {
    pub id: String,
    /// The post it is under.
    pub on: String,
    pub author: String,
    pub text: String,
}

impl World {
    /// A number unique on this server, for post and media ids.
    pub(crate) fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    pub(crate) fn ensure_user(&mut self, id: &str, name: &str) {
        self.users.entry(id.to_string()).or_insert_with(|| User {
            id: id.to_string(),
            name: name.to_string(),
        });
    }

    pub(crate) fn user(&self, id: &str) -> Option<&User> {
        self.users.get(id)
    }

    pub(crate) fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    pub(crate) fn add_code(&mut self, code: String, details: AuthCode) {
        self.codes.insert(code, details);
    }

    /// Checks a code without spending it, so that a failed exchange (wrong verifier) can be retried.
    pub(crate) fn check_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AuthCode, CodeError> {
        let details = self.codes.get(code).ok_or(CodeError::Unknown)?;
        if details.client_id != client_id {
            return Err(CodeError::WrongClient);
        }
        if details.used {
            return Err(CodeError::Used);
        }
        if details.expires_at <= now {
            return Err(CodeError::Expired);
        }
        if redirect_uri != Some(details.redirect_uri.as_str()) {
            return Err(CodeError::RedirectMismatch);
        }
        Ok(details.clone())
    }

    /// Spends a checked code and records the consent it carried; returns the new grant.
    pub(crate) fn consume_code(&mut self, code: &str, details: AuthCode) -> usize {
        if let Some(stored) = self.codes.get_mut(code) {
            stored.used = true;
        }
        self.grants.push(Grant {
            user_id: details.user_id,
            client_id: details.client_id,
            scopes: details.scopes,
            declined: details.declined,
            revoked: None,
        });
        self.grants.len() - 1
    }

    pub(crate) fn grant(&self, id: usize) -> Option<&Grant> {
        self.grants.get(id)
    }

    pub(crate) fn issue(
        &mut self,
        grant: usize,
        kind: TokenKind,
        prefix: &str,
        lifetime: Option<TimeDelta>,
        now: DateTime<Utc>,
    ) -> String {
        self.issue_until(grant, kind, prefix, lifetime.map(|l| now + l))
    }

    pub(crate) fn issue_until(
        &mut self,
        grant: usize,
        kind: TokenKind,
        prefix: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> String {
        let token = crate::ids::secret(prefix);
        self.tokens.insert(
            token.clone(),
            Token {
                grant,
                kind,
                expires_at,
                rotated: false,
            },
        );
        token
    }

    pub(crate) fn token(&self, token: &str) -> Option<&Token> {
        self.tokens.get(token)
    }

    /// Checks an access token (any kind but refresh) and says who is calling.
    pub(crate) fn authenticate(
        &self,
        token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Caller, TokenError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(TokenError::Missing)?;
        let details = self
            .tokens
            .get(token)
            .filter(|t| t.kind != TokenKind::Refresh)
            .ok_or(TokenError::Unknown)?;
        let grant = self.grants.get(details.grant).ok_or(TokenError::Unknown)?;
        if let Some(reason) = grant.revoked {
            return Err(TokenError::Revoked(reason));
        }
        if let Some(at) = details.expires_at.filter(|at| *at <= now) {
            return Err(TokenError::Expired(at));
        }
        let user = self.users.get(&grant.user_id).ok_or(TokenError::Unknown)?;
        Ok(Caller {
            grant: details.grant,
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            client_id: grant.client_id.clone(),
            scopes: grant.scopes.clone(),
            kind: details.kind.clone(),
            expires_at: details.expires_at,
        })
    }

    /// Checks a refresh token presented by `client_id`; returns its grant and expiry.
    pub(crate) fn check_refresh(
        &self,
        token: &str,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(usize, Option<DateTime<Utc>>), RefreshError> {
        let details = self
            .tokens
            .get(token)
            .filter(|t| t.kind == TokenKind::Refresh)
            .ok_or(RefreshError::Unknown)?;
        let grant = self
            .grants
            .get(details.grant)
            .ok_or(RefreshError::Unknown)?;
        if grant.client_id != client_id {
            return Err(RefreshError::WrongClient);
        }
        if grant.revoked.is_some() {
            return Err(RefreshError::Revoked);
        }
        if details.rotated {
            return Err(RefreshError::Rotated);
        }
        if details.expires_at.is_some_and(|at| at <= now) {
            return Err(RefreshError::Expired);
        }
        Ok((details.grant, details.expires_at))
    }

    /// Marks a refresh token as exchanged: on rotating platforms it never works again.
    pub(crate) fn retire(&mut self, token: &str) {
        if let Some(details) = self.tokens.get_mut(token) {
            details.rotated = true;
        }
    }

    /// Ends one grant and every token hanging off it.
    pub(crate) fn revoke_grant(&mut self, grant: usize, reason: RevokeReason) {
        if let Some(g) = self.grants.get_mut(grant).filter(|g| g.revoked.is_none()) {
            g.revoked = Some(reason);
            self.revocations += 1;
        }
    }

    /// The app `client_id` revokes `token`: the grant behind it ends, access and refresh tokens alike.
    /// Returns that grant; an unknown token, or another app's, is left alone (the platforms answer
    /// success all the same, RFC 7009 §2.2).
    pub(crate) fn revoke_for_client(&mut self, token: &str, client_id: &str) -> Option<usize> {
        let grant = self
            .token(token)
            .map(|t| t.grant)
            .filter(|g| self.grant(*g).is_some_and(|g| g.client_id == client_id))?;
        self.revoke_grant(grant, RevokeReason::AppRemoved);
        Some(grant)
    }

    /// Ends every grant of a user (for one app, or all); returns how many tokens that stopped.
    pub(crate) fn revoke_user(
        &mut self,
        user_id: &str,
        client_id: Option<&str>,
        reason: RevokeReason,
    ) -> usize {
        let mut ended = Vec::new();
        for (id, grant) in self.grants.iter_mut().enumerate() {
            let matches = grant.user_id == user_id
                && client_id.is_none_or(|c| c == grant.client_id)
                && grant.revoked.is_none();
            if matches {
                grant.revoked = Some(reason);
                ended.push(id);
            }
        }
        if !ended.is_empty() {
            self.revocations += 1;
        }
        self.tokens
            .values()
            .filter(|t| ended.contains(&t.grant))
            .count()
    }

    /// Makes every access token of the user expired as of now (refresh tokens keep working).
    pub(crate) fn expire_user(&mut self, user_id: &str, now: DateTime<Utc>) -> usize {
        let grants: Vec<usize> = self.grants_of(user_id, None);
        // A second earlier, so that "expires_at <= now" holds for a request arriving in the same instant.
        let past = now - TimeDelta::seconds(1);
        let mut count = 0;
        for token in self.tokens.values_mut() {
            let live = token.expires_at.is_none_or(|at| at > now);
            if grants.contains(&token.grant) && token.kind != TokenKind::Refresh && live {
                token.expires_at = Some(past);
                count += 1;
            }
        }
        count
    }

    /// Withdraws a scope from the user's grants (for one app, or all); returns how many grants changed.
    pub(crate) fn remove_scope(
        &mut self,
        user_id: &str,
        client_id: Option<&str>,
        scope: &str,
    ) -> usize {
        let mut changed = 0;
        for grant in &mut self.grants {
            let matches =
                grant.user_id == user_id && client_id.is_none_or(|c| c == grant.client_id);
            if matches && grant.scopes.iter().any(|s| s == scope) {
                grant.scopes.retain(|s| s != scope);
                grant.declined.push(scope.to_string());
                changed += 1;
            }
        }
        changed
    }

    fn grants_of(&self, user_id: &str, client_id: Option<&str>) -> Vec<usize> {
        self.grants
            .iter()
            .enumerate()
            .filter(|(_, g)| g.user_id == user_id && client_id.is_none_or(|c| c == g.client_id))
            .map(|(id, _)| id)
            .collect()
    }

    pub(crate) fn add_post(&mut self, id: String, author: String, text: String) {
        self.posts.push(Post {
            id,
            author,
            text,
            at: Utc::now(),
        });
    }

    pub(crate) fn posts(&self) -> &[Post] {
        &self.posts
    }

    pub(crate) fn add_comment(&mut self, on: &str, author: &str, text: &str) -> String {
        let id = format!("{on}_c{}", self.comments.len() + 1);
        self.comments.push(Comment {
            id: id.clone(),
            on: on.to_string(),
            author: author.to_string(),
            text: text.to_string(),
        });
        id
    }

    /// Removes the post `id` by `author`; false when there is no such post of theirs.
    pub(crate) fn remove_post(&mut self, id: &str, author: &str) -> bool {
        let before = self.posts.len();
        self.posts.retain(|p| !(p.id == id && p.author == author));
        self.posts.len() < before
    }

    /// The summary behind `GET /_sandbox/state`, with this run's request counts.
    pub(crate) fn summary(&self, requests: &BTreeMap<String, u64>, now: DateTime<Utc>) -> Value {
        let (mut active, mut revoked, mut expired, mut rotated) = (0, 0, 0, 0);
        for token in self.tokens.values() {
            let grant_revoked = self
                .grants
                .get(token.grant)
                .is_none_or(|g| g.revoked.is_some());
            if grant_revoked {
                revoked += 1;
            } else if token.rotated {
                rotated += 1;
            } else if token.expires_at.is_some_and(|at| at <= now) {
                expired += 1;
            } else {
                active += 1;
            }
        }
        json!({
            "users": self.users.values().map(|u| json!({"id": u.id, "name": u.name})).collect::<Vec<_>>(),
            "tokens": {"active": active, "revoked": revoked, "expired": expired, "rotated": rotated},
            "revocations": self.revocations,
            "posts": self.posts.iter().map(|p| json!({"id": p.id, "author": p.author, "text": p.text})).collect::<Vec<_>>(),
            "comments": self.comments.iter().map(|c| json!({"id": c.id, "on": c.on, "author": c.author, "text": c.text})).collect::<Vec<_>>(),
            "requests": requests,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world_with_grant(now: DateTime<Utc>) -> (World, usize) {
        let mut world = World::default();
        world.ensure_user("1", "Ann");
        let code = AuthCode::new(
            "app".into(),
            "https://app/cb".into(),
            "1".into(),
            vec!["read".into()],
            vec![],
            None,
            now,
        );
        world.add_code("c".into(), code);
        let details = world
            .check_code("c", "app", Some("https://app/cb"), now)
            .unwrap();
        let grant = world.consume_code("c", details);
        (world, grant)
    }

    #[test]
    fn codes_are_single_use_bound_and_short_lived() {
        let now = Utc::now();
        let (world, _) = world_with_grant(now);
        assert_eq!(
            world
                .check_code("c", "app", Some("https://app/cb"), now)
                .unwrap_err(),
            CodeError::Used
        );
        let mut world = World::default();
        let code = AuthCode::new(
            "app".into(),
            "https://app/cb".into(),
            "1".into(),
            vec![],
            vec![],
            None,
            now,
        );
        world.add_code("c".into(), code);
        let check = |w: &World, client, redirect, at| w.check_code("c", client, redirect, at);
        assert_eq!(
            check(&world, "other", Some("https://app/cb"), now).unwrap_err(),
            CodeError::WrongClient
        );
        assert_eq!(
            check(&world, "app", Some("https://app/cb2"), now).unwrap_err(),
            CodeError::RedirectMismatch
        );
        assert_eq!(
            check(&world, "app", None, now).unwrap_err(),
            CodeError::RedirectMismatch
        );
        let later = now + CODE_LIFETIME + TimeDelta::seconds(1);
        assert_eq!(
            check(&world, "app", Some("https://app/cb"), later).unwrap_err(),
            CodeError::Expired
        );
        assert_eq!(
            world.check_code("nope", "app", None, now).unwrap_err(),
            CodeError::Unknown
        );
    }

    #[test]
    fn tokens_expire_and_revocation_ends_the_whole_grant() {
        let now = Utc::now();
        let (mut world, grant) = world_with_grant(now);
        let access = world.issue(
            grant,
            TokenKind::Access,
            "a",
            Some(TimeDelta::hours(2)),
            now,
        );
        let refresh = world.issue(grant, TokenKind::Refresh, "r", None, now);
        let caller = world.authenticate(Some(&access), now).unwrap();
        assert_eq!(caller.user_name, "Ann");
        assert!(caller.has("read") && !caller.has("write"));
        // A refresh token is not an access token.
        assert_eq!(
            world.authenticate(Some(&refresh), now).unwrap_err(),
            TokenError::Unknown
        );
        assert_eq!(
            world.authenticate(None, now).unwrap_err(),
            TokenError::Missing
        );
        let later = now + TimeDelta::hours(3);
        assert!(matches!(
            world.authenticate(Some(&access), later),
            Err(TokenError::Expired(_))
        ));

        assert_eq!(world.expire_user("1", now), 1);
        assert!(matches!(
            world.authenticate(Some(&access), now),
            Err(TokenError::Expired(_))
        ));
        assert!(world.check_refresh(&refresh, "app", now).is_ok());
        assert_eq!(
            world.check_refresh(&refresh, "other", now).unwrap_err(),
            RefreshError::WrongClient
        );

        world.revoke_grant(grant, RevokeReason::AppRemoved);
        assert_eq!(
            world.check_refresh(&refresh, "app", now).unwrap_err(),
            RefreshError::Revoked
        );
        assert_eq!(
            world.authenticate(Some(&access), now).unwrap_err(),
            TokenError::Revoked(RevokeReason::AppRemoved)
        );
        let summary = world.summary(&BTreeMap::new(), now);
        assert_eq!(summary["tokens"]["revoked"], 2);
        assert_eq!(summary["revocations"], 1);
    }

    #[test]
    fn the_world_round_trips_through_json() {
        let now = Utc::now();
        let (mut world, grant) = world_with_grant(now);
        let page = world.issue(
            grant,
            TokenKind::Page("p1".into()),
            "EAA",
            Some(TimeDelta::hours(1)),
            now,
        );
        let refresh = world.issue(grant, TokenKind::Refresh, "r", None, now);
        world.retire(&refresh);
        world.meta = serde_json::from_value(json!({"page_tokens": [[["u", "p1"], page]]})).unwrap();

        let loaded: World = serde_json::from_slice(&serde_json::to_vec(&world).unwrap()).unwrap();
        let caller = loaded.authenticate(Some(&page), now).unwrap();
        assert_eq!(caller.kind, TokenKind::Page("p1".into()));
        assert_eq!(caller.user_name, "Ann");
        assert_eq!(
            loaded.check_refresh(&refresh, "app", now).unwrap_err(),
            RefreshError::Rotated
        );
        assert_eq!(
            loaded
                .check_code("c", "app", Some("https://app/cb"), now)
                .unwrap_err(),
            CodeError::Used
        );
        let none = BTreeMap::new();
        assert_eq!(loaded.summary(&none, now), world.summary(&none, now));
        assert_eq!(
            serde_json::to_value(&loaded.meta).unwrap(),
            serde_json::to_value(&world.meta).unwrap()
        );
        // Fields missing from an older file are left empty.
        let empty: World = serde_json::from_str("{}").unwrap();
        assert!(empty.users().next().is_none());
    }

    #[test]
    fn removed_scopes_become_declined() {
        let now = Utc::now();
        let (mut world, grant) = world_with_grant(now);
        assert_eq!(world.remove_scope("1", None, "read"), 1);
        assert_eq!(world.remove_scope("1", None, "read"), 0);
        let g = world.grant(grant).unwrap();
        assert!(g.scopes.is_empty());
        assert_eq!(g.declined, ["read"]);
    }
}
