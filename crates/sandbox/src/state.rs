//! The memory of one sandbox server: who signed in, which codes and tokens exist, what was posted (the
//! `World`, which can be kept on disk), and which faults are armed (the `Run`, which never is). The OAuth
//! bookkeeping is shared by every platform; what differs (envelopes, lifetimes, rotation) lives in the
//! platform modules.

use crate::persist::Store;
use crate::simulator::Simulator;
use crate::{linkedin_images, linkedin_videos, meta, tiktok, x, SandboxApp};
use chrono::{DateTime, TimeDelta, Utc};
use iquivity_domain::Platform;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// Authorization codes live this long, on every platform.
pub(crate) const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(10);

fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)
}

/// One running server: its configuration and its state.
pub(crate) struct Server {
    pub platform: Platform,
    /// What this platform does its own way; Facebook and Instagram share Meta's.
    pub simulator: &'static Simulator,
    pub apps: Vec<SandboxApp>,
    /// `http://127.0.0.1:PORT`, for the absolute URLs the platforms hand out (paging, uploads, avatars).
    pub base_url: String,
    /// Added before every API answer, in microseconds; atomic so that a benchmark can seed its data
    /// quickly and then measure with latency, against the same tokens.
    latency_micros: AtomicU64,
    pub page_size: usize,
    /// Closes when the Sandbox is dropped, so that requests held by the `hang` fault let go.
    pub shutdown: watch::Receiver<()>,
    /// While true, API requests wait (after their latency, before anything is done) until it is false:
    /// a test can kill a client while its calls are held and know the platform never acted on them.
    held: watch::Sender<bool>,
    /// The time this platform believes it is, when a test has set it (`POST /_sandbox/clock`): what the
    /// platform's answers read for times they announce (a rate limit's reset), so that they follow the
    /// same moved clock as the service under test. `None`: the real time.
    clock: Mutex<Option<DateTime<Utc>>>,
    world: Mutex<Tracked>,
    run: Mutex<Run>,
    /// Where the world is kept between processes; None keeps it in memory only.
    store: Option<Store>,
}

/// The world and whether it changed since it was last saved; under one lock, so that taking a snapshot
/// and clearing the flag cannot miss a change made in between.
struct Tracked {
    world: World,
    dirty: bool,
}

/// The locked world. Handing it out mutably marks it as changed, so that a server keeping its state saves
/// after exactly the requests that may have altered it, whatever their method (some GETs do: Meta's
/// container status polls and Page token listing, X's rate windows).
pub(crate) struct WorldGuard<'a>(MutexGuard<'a, Tracked>);

impl Deref for WorldGuard<'_> {
    type Target = World;

    fn deref(&self) -> &World {
        &self.0.world
    }
}

impl DerefMut for WorldGuard<'_> {
    fn deref_mut(&mut self) -> &mut World {
        self.0.dirty = true;
        &mut self.0.world
    }
}

impl Server {
    pub(crate) fn new(
        platform: Platform,
        apps: Vec<SandboxApp>,
        base_url: String,
        latency: Duration,
        page_size: usize,
        shutdown: watch::Receiver<()>,
    ) -> Server {
        Server {
            platform,
            simulator: crate::simulator::of(platform),
            apps,
            base_url,
            latency_micros: AtomicU64::new(micros(latency)),
            // A page must hold at least one item or paging would never end.
            page_size: page_size.max(1),
            shutdown,
            held: watch::channel(false).0,
            clock: Mutex::new(None),
            world: Mutex::new(Tracked {
                world: World::default(),
                dirty: false,
            }),
            run: Mutex::new(Run::default()),
            store: None,
        }
    }

    /// Keeps the world in `store`, starting from `world` (what the store held when the server started).
    pub(crate) fn with_store(mut self, store: Store, world: World) -> Server {
        self.world = Mutex::new(Tracked {
            world,
            dirty: false,
        });
        self.store = Some(store);
        self
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        self.latency_micros
            .store(micros(latency), Ordering::Relaxed);
    }

    pub(crate) fn set_held(&self, held: bool) {
        self.held.send_replace(held);
    }

    /// Returns once requests are no longer held (at once when they are not).
    async fn wait_while_held(&self) {
        let mut held = self.held.subscribe();
        // Fails only when the sender is gone, which it cannot be while `self` lives.
        let _ = held.wait_for(|held| !held).await;
    }

    /// Waits while requests are held, noting the client's address `from` meanwhile (so that a test sees
    /// whose requests the platform holds, and when a client that went away has had its requests
    /// dropped); then counts the request as acted on until the answer is given (the guard is dropped).
    pub(crate) async fn pass_hold(&self, from: Option<SocketAddr>) -> Acting<'_> {
        let waiting = Waiting::new(self, from);
        self.wait_while_held().await;
        drop(waiting);
        self.run().acting += 1;
        Acting(self)
    }

    /// The platform's time: the one a test set, or the real time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .unwrap_or_else(Utc::now)
    }

    /// Sets the platform's time (`None`: the real time again).
    pub(crate) fn set_now(&self, now: Option<DateTime<Utc>>) {
        *self.clock.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    pub(crate) fn keeps_state(&self) -> bool {
        self.store.is_some()
    }

    /// The state, locked. A handler that panicked while holding the lock leaves the data consistent enough
    /// for a test double, so a poisoned lock is taken over rather than failing every later request.
    pub(crate) fn world(&self) -> WorldGuard<'_> {
        WorldGuard(self.tracked())
    }

    fn tracked(&self) -> MutexGuard<'_, Tracked> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Faults and request counts, locked (poisoning handled as for `world`).
    pub(crate) fn run(&self) -> MutexGuard<'_, Run> {
        self.run.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the world to the store if it changed since the last save; nothing without a store. Blocks on
    /// file I/O.
    pub(crate) fn save(&self) -> io::Result<()> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let _order = store.lock();
        let bytes = {
            let mut tracked = self.tracked();
            if !tracked.dirty {
                return Ok(());
            }
            let bytes = serde_json::to_vec(&tracked.world)?;
            tracked.dirty = false;
            bytes
        };
        store.write(&bytes).inspect_err(|_| {
            // Still unsaved: the next request tries again.
            self.tracked().dirty = true;
        })
    }

    pub(crate) fn app(&self, client_id: &str) -> Option<&SandboxApp> {
        self.apps.iter().find(|app| app.client_id == client_id)
    }

    /// The platform's name as people know it, for page titles.
    pub(crate) fn display_name(&self) -> &'static str {
        self.platform.display_name()
    }
}

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FaultMode {
    RateLimit,
    ServerError,
    Hang,
    MalformedJson,
    /// The platform acts, then the connection drops halfway through its answer.
    CommitThenDrop,
    /// The platform acts, then answers success with a body that is not what it would say.
    CommitThenGarbage,
    /// The platform acts, then never answers.
    CommitThenHang,
}

impl FaultMode {
    /// Whether the platform acts on the request before the fault takes its answer away.
    pub(crate) fn acts_first(self) -> bool {
        matches!(
            self,
            FaultMode::CommitThenDrop | FaultMode::CommitThenGarbage | FaultMode::CommitThenHang
        )
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Fault {
    pub mode: FaultMode,
    pub remaining: u32,
    pub path_prefix: String,
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

/// A request waiting at the hold, from a client at that address; forgotten when it passes or is dropped.
struct Waiting<'a> {
    server: &'a Server,
    from: Option<SocketAddr>,
}

impl<'a> Waiting<'a> {
    fn new(server: &'a Server, from: Option<SocketAddr>) -> Self {
        if let Some(from) = from {
            *server.run().held_from.entry(from).or_default() += 1;
        }
        Waiting { server, from }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let Some(from) = self.from else {
            return;
        };
        let mut run = self.server.run();
        if let Some(count) = run.held_from.get_mut(&from) {
            *count -= 1;
            if *count == 0 {
                run.held_from.remove(&from);
            }
        }
    }
}

/// A request past the hold, being acted on, until it is answered or dropped.
pub(crate) struct Acting<'a>(&'a Server);

impl Drop for Acting<'_> {
    fn drop(&mut self) {
        let mut run = self.0.run();
        run.acting = run.acting.saturating_sub(1);
    }
}

/// What lasts one run of the server only: armed faults and request counts per path. Kept apart from the
/// world so that it is never saved (a fault armed by one test run must not hit the next), and so that
/// counting a request does not mark the world as changed.
#[derive(Default)]
pub(crate) struct Run {
    faults: Vec<Fault>,
    requests: BTreeMap<String, u64>,
    /// API requests being answered now, and the most answered at once since the peak was last taken:
    /// how tests and benchmarks see that a client keeps to its concurrency limit.
    in_flight: u32,
    peak_in_flight: u32,
    /// Requests waiting at the hold, by the client's address.
    held_from: BTreeMap<SocketAddr, u32>,
    /// Requests past the hold and not yet answered: what the platform is acting on.
    acting: u32,
}

impl Run {
    pub(crate) fn count_request(&mut self, path: &str) {
        *self.requests.entry(path.to_string()).or_default() += 1;
    }

    pub(crate) fn enter(&mut self) {
        self.in_flight += 1;
        self.peak_in_flight = self.peak_in_flight.max(self.in_flight);
    }

    pub(crate) fn leave(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight
    }

    pub(crate) fn peak_in_flight(&self) -> u32 {
        self.peak_in_flight
    }

    /// The client addresses of the requests waiting at the hold now.
    pub(crate) fn held_from(&self) -> Vec<SocketAddr> {
        self.held_from.keys().copied().collect()
    }

    pub(crate) fn acting(&self) -> u32 {
        self.acting
    }

    /// The peak so far; the next peak starts from what is in flight now.
    pub(crate) fn take_peak_in_flight(&mut self) -> u32 {
        std::mem::replace(&mut self.peak_in_flight, self.in_flight)
    }

    pub(crate) fn requests(&self) -> &BTreeMap<String, u64> {
        &self.requests
    }

    pub(crate) fn arm_fault(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    pub(crate) fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// The fault, if any, that this request must suffer; spends one of its count.
    pub(crate) fn take_fault(&mut self, path: &str) -> Option<FaultMode> {
        let index = self
            .faults
            .iter()
            .position(|f| f.remaining > 0 && path.starts_with(&f.path_prefix))?;
        let fault = &mut self.faults[index];
        fault.remaining -= 1;
        let mode = fault.mode;
        if fault.remaining == 0 {
            self.faults.remove(index);
        }
        Some(mode)
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
    fn faults_apply_to_matching_paths_for_their_count() {
        let mut run = Run::default();
        run.arm_fault(Fault {
            mode: FaultMode::Hang,
            remaining: 2,
            path_prefix: "/2/".into(),
        });
        assert_eq!(run.take_fault("/i/oauth2/authorize"), None);
        assert_eq!(run.take_fault("/2/tweets"), Some(FaultMode::Hang));
        assert_eq!(run.take_fault("/2/users/me"), Some(FaultMode::Hang));
        assert_eq!(run.take_fault("/2/tweets"), None);
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
    fn only_changes_mark_the_world_for_saving() {
        let (_shutdown, shutdown_rx) = watch::channel(());
        let srv = Server::new(
            Platform::X,
            Vec::new(),
            String::new(),
            Duration::ZERO,
            1,
            shutdown_rx,
        );
        // Reads, request counts and faults leave it alone.
        assert!(srv.world().user("1").is_none());
        srv.run().count_request("/2/users/me");
        srv.run().clear_faults();
        assert!(!srv.tracked().dirty);
        srv.world().ensure_user("1", "Ann");
        assert!(srv.tracked().dirty);
        // Without a store, saving writes nothing and leaves the flag as it was.
        assert!(srv.save().is_ok());
        assert!(srv.tracked().dirty);
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
