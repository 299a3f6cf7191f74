//! The token endpoint (RFC 6749 §4.1.3 and §6) and the revocation endpoint (RFC 7009) of the platforms
//! that follow the RFCs closely (X, LinkedIn, TikTok): the flow is written once here; each platform's
//! [`TokenEndpoint`] says how its client proves itself, what its answers hold and how it words a refusal.

use crate::ids::pkce_matches;
use crate::request::Params;
use crate::state::{CodeError, Server, World};
use crate::Reject;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;

/// How one platform's token and revocation endpoints behave where the RFCs leave room.
pub(crate) struct TokenEndpoint {
    pub client_auth: ClientAuth,
    /// What the code exchange refuses to go without besides the code (X: the PKCE verifier; LinkedIn: the
    /// redirect URI).
    pub exchange_needs: &'static [&'static str],
    /// Whether a renewal spends the refresh token presented.
    pub rotates: bool,
    /// The platform's answer for new tokens: its fields, lifetimes and token shapes.
    pub answer: fn(&mut World, Issue, DateTime<Utc>) -> Value,
    /// The platform's words and status for each refusal.
    pub refuse: fn(Refusal) -> Reject,
    /// What a revocation answers.
    pub revoked: fn() -> Response,
}

/// How the client proves itself.
pub(crate) enum ClientAuth {
    /// HTTP Basic with the id and secret, or only a `client_id` in the form for a public client; a
    /// `client_id` in the form must agree with the header (X).
    BasicOrPublic,
    /// The id under `id_field` and the secret as `client_secret`, both in the form.
    Form { id_field: &'static str },
}

/// Why new tokens are issued.
pub(crate) enum Issue<'a> {
    /// A consent's code was exchanged.
    Consent { grant: usize },
    /// A refresh token was presented; it expires at `refresh_expires_at`.
    Renewal {
        grant: usize,
        presented: &'a str,
        refresh_expires_at: Option<DateTime<Utc>>,
    },
}

impl Issue<'_> {
    pub(crate) fn grant(&self) -> usize {
        match self {
            Issue::Consent { grant } | Issue::Renewal { grant, .. } => *grant,
        }
    }
}

/// Why a request to the token or revocation endpoint is refused.
pub(crate) enum Refusal {
    /// A required parameter is missing.
    Missing(&'static str),
    /// The client is unknown, or its secret is wrong.
    BadClient,
    /// The id in the form is not the one in the Basic header.
    ClientMismatch,
    GrantType,
    Code(CodeError),
    /// The PKCE verifier does not match the authorization request's challenge.
    Verifier,
    /// The refresh token is unknown, another client's, spent, revoked or expired (the reason is logged).
    Refresh,
}

impl TokenEndpoint {
    /// `POST` on the token endpoint.
    pub(crate) fn token_route(&'static self) -> MethodRouter<Arc<Server>> {
        post(
            move |State(srv): State<Arc<Server>>, params: Params| async move {
                self.token(&srv, &params).map_err(self.refuse)
            },
        )
    }

    /// `POST` on the revocation endpoint.
    pub(crate) fn revoke_route(&'static self) -> MethodRouter<Arc<Server>> {
        post(
            move |State(srv): State<Arc<Server>>, params: Params| async move {
                self.revoke(&srv, &params).map_err(self.refuse)
            },
        )
    }

    fn client(&self, srv: &Server, params: &Params) -> Result<String, Refusal> {
        match self.client_auth {
            ClientAuth::BasicOrPublic => {
                let body_id = params.form("client_id");
                if let Some((id, secret)) = params.basic() {
                    if body_id.is_some_and(|b| b != id) {
                        return Err(Refusal::ClientMismatch);
                    }
                    return match srv.app(&id) {
                        Some(app) if app.client_secret == secret => Ok(id),
                        _ => Err(Refusal::BadClient),
                    };
                }
                match body_id {
                    Some(id) if srv.app(id).is_some() => Ok(id.to_string()),
                    _ => Err(Refusal::BadClient),
                }
            }
            ClientAuth::Form { id_field } => {
                let id = required(params, id_field)?;
                let secret = required(params, "client_secret")?;
                match srv.app(id) {
                    Some(app) if app.client_secret == secret => Ok(id.to_string()),
                    _ => Err(Refusal::BadClient),
                }
            }
        }
    }

    fn token(&self, srv: &Server, params: &Params) -> Result<Json<Value>, Refusal> {
        let client_id = self.client(srv, params)?;
        match params.form("grant_type") {
            Some("authorization_code") => self.exchange_code(srv, params, &client_id),
            Some("refresh_token") => self.refresh(srv, params, &client_id),
            _ => Err(Refusal::GrantType),
        }
    }

    fn exchange_code(
        &self,
        srv: &Server,
        params: &Params,
        client_id: &str,
    ) -> Result<Json<Value>, Refusal> {
        let code = required(params, "code")?;
        for name in self.exchange_needs {
            required(params, name)?;
        }
        let now = Utc::now();
        let mut world = srv.world();
        let details = world
            .check_code(code, client_id, params.form("redirect_uri"), now)
            .map_err(Refusal::Code)?;
        // A verifier is checked whenever the authorization request carried a challenge.
        if let Some(challenge) = &details.challenge {
            let verifier = required(params, "code_verifier")?;
            if !pkce_matches(challenge.method, &challenge.value, verifier) {
                return Err(Refusal::Verifier);
            }
        }
        let grant = world.consume_code(code, details);
        tracing::debug!(platform = %srv.platform, %client_id, grant, "code exchanged");
        Ok(Json((self.answer)(
            &mut world,
            Issue::Consent { grant },
            now,
        )))
    }

    fn refresh(
        &self,
        srv: &Server,
        params: &Params,
        client_id: &str,
    ) -> Result<Json<Value>, Refusal> {
        let presented = required(params, "refresh_token")?;
        let now = Utc::now();
        let mut world = srv.world();
        let (grant, refresh_expires_at) =
            world
                .check_refresh(presented, client_id, now)
                .map_err(|e| {
                    tracing::debug!(platform = %srv.platform, reason = ?e, "refresh refused");
                    Refusal::Refresh
                })?;
        if self.rotates {
            world.retire(presented);
        }
        tracing::debug!(platform = %srv.platform, %client_id, grant, rotated = self.rotates, "tokens renewed");
        let renewal = Issue::Renewal {
            grant,
            presented,
            refresh_expires_at,
        };
        Ok(Json((self.answer)(&mut world, renewal, now)))
    }

    /// Revoking either token of a grant ends the grant; an unknown token is "revoked" too (RFC 7009 §2.2).
    fn revoke(&self, srv: &Server, params: &Params) -> Result<Response, Refusal> {
        let client_id = self.client(srv, params)?;
        let token = required(params, "token")?;
        if let Some(grant) = srv.world().revoke_for_client(token, &client_id) {
            tracing::debug!(platform = %srv.platform, %client_id, grant, "grant revoked by the client");
        }
        Ok((self.revoked)().into_response())
    }
}

fn required<'a>(params: &'a Params, name: &'static str) -> Result<&'a str, Refusal> {
    params.form(name).ok_or(Refusal::Missing(name))
}
