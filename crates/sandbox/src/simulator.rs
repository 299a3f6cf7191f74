//! What one simulated platform does its own way in the parts every server shares (the consent page, the
//! control API, the router): how its authorize request is written, how it refuses, its ids and codes, its
//! routes, its seed and its error envelopes. Each platform module declares its [`Simulator`]; [`of`] is the
//! registry, so the shared code never matches on a platform.

use crate::state::{Server, World};
use crate::{linkedin, meta, tiktok, x};
use axum::http::{Method, Uri};
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, Utc};
use iquivity_domain::Platform;
use serde_json::Value;
use std::sync::Arc;

/// The routes of one server, before its state is given.
pub(crate) type Routes = Router<Arc<Server>>;

pub(crate) struct Simulator {
    /// What the authorize request calls the client id (TikTok: `client_key`).
    pub client_param: &'static str,
    /// How the platform writes a scope list (spaces or commas).
    pub scope_separator: &'static str,
    /// Whether an authorize request without `response_type` asks for a code (Meta's dialog defaults to one).
    pub code_by_default: bool,
    pub pkce: Pkce,
    /// The query parameters sent back when the person refuses.
    pub denial: &'static [(&'static str, &'static str)],
    /// The platform's id for the person of that name, stable across runs.
    pub user_id: fn(&str) -> String,
    /// A new authorization code, in the platform's own shape.
    pub new_code: fn(&mut World) -> String,
    /// The platform's own paths.
    pub routes: fn() -> Routes,
    /// Its answer for a path it does not have, or a method a path does not take.
    pub not_found: fn(&Method, &Uri) -> Response,
    /// Layers of its own around the gate (X's rate headers), which injected faults must pass through.
    pub outer_layers: fn(Routes, Arc<Server>) -> Routes,
    /// What the control API's by-name lookup answers: the ids the platform will give that person.
    pub seed_json: fn(&Server, &str) -> Value,
    /// An injected rate limit at this path, in the platform's envelope, with the reset (where the
    /// platform announces one) reckoned from the platform's time.
    pub rate_limited: fn(&str, DateTime<Utc>) -> Response,
    /// An injected server error, in the platform's envelope.
    pub server_error: fn() -> Response,
}

/// Whether the authorize request carries a PKCE challenge.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pkce {
    /// Not used: a challenge sent anyway is ignored.
    Unused,
    /// Checked when sent.
    Optional,
    /// The request is refused without one; `why` names the platform's rule.
    Required { why: &'static str },
}

/// No layers of its own.
pub(crate) fn no_layers(router: Routes, _: Arc<Server>) -> Routes {
    router
}

/// The simulator of each platform; Facebook and Instagram share Meta's.
pub(crate) fn of(platform: Platform) -> &'static Simulator {
    match platform {
        Platform::Facebook | Platform::Instagram => &meta::SIMULATOR,
        Platform::X => &x::SIMULATOR,
        Platform::Linkedin => &linkedin::SIMULATOR,
        Platform::Tiktok => &tiktok::SIMULATOR,
    }
}
