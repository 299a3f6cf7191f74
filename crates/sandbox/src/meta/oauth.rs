//! Graph's token endpoint (code exchange and `fb_exchange_token`) and a person's permissions: reading them
//! and revoking one or all.

// The Graph helpers, shared state and imports of `meta`.
use super::*;

pub(super) async fn access_token(State(srv): State<Arc<Server>>, params: Params) -> Graph {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| GraphError::bad(101, "Missing client_id parameter."))?;
    let app = srv.app(&client_id).ok_or_else(|| {
        GraphError::bad(101, "Error validating application. Invalid application ID.")
    })?;
    if params.get("client_secret").as_deref() != Some(app.client_secret.as_str()) {
        return Err(GraphError::bad(100, "Error validating client secret."));
    }
    if params.get("grant_type").as_deref() == Some("fb_exchange_token") {
        return exchange(&srv, &params, &client_id);
    }
    let code = params
        .get("code")
        .ok_or_else(|| GraphError::param("Missing code parameter."))?;
    let redirect_uri = params.get("redirect_uri");
    let now = Utc::now();
    let mut world = srv.world();
    let details = world
        .check_code(&code, &client_id, redirect_uri.as_deref(), now)
        .map_err(|e| match e {
            CodeError::Unknown | CodeError::WrongClient => {
                GraphError::bad(190, "Invalid verification code format.")
            }
            CodeError::Used => GraphError::bad(190, "This authorization code has been used."),
            CodeError::Expired => GraphError::bad(190, "This authorization code has expired."),
            CodeError::RedirectMismatch => GraphError::bad(
                100,
                "Error validating verification code. Please make sure your redirect_uri is identical \
                 to the one you used in the OAuth dialog request",
            )
            .subcode(36008),
        })?;
    let grant = world.consume_code(&code, details);
    let token = world.issue(grant, TokenKind::Access, "EAA", Some(SHORT_LIVED), now);
    tracing::debug!(platform = %srv.platform, %client_id, grant, "code exchanged for a short-lived user token");
    Ok(Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": SHORT_LIVED.num_seconds(),
    })))
}

/// `grant_type=fb_exchange_token`: a short- or long-lived user token for a new long-lived one.
fn exchange(srv: &Server, params: &Params, client_id: &str) -> Graph {
    let token = params
        .get("fb_exchange_token")
        .ok_or_else(|| GraphError::param("Missing fb_exchange_token parameter."))?;
    let invalid = || {
        GraphError::bad(
            190,
            "Error validating access token: The session is invalid because the user logged out.",
        )
        .subcode(467)
    };
    let now = Utc::now();
    let mut world = srv.world();
    let caller = world.authenticate(Some(&token), now).map_err(|e| match e {
        TokenError::Expired(at) => token_error(TokenError::Expired(at), now),
        _ => invalid(),
    })?;
    if matches!(caller.kind, TokenKind::Page(_)) || caller.client_id != client_id {
        return Err(invalid());
    }
    let long = world.issue(
        caller.grant,
        TokenKind::LongLived,
        "EAA",
        Some(LONG_LIVED),
        now,
    );
    tracing::debug!(platform = %srv.platform, %client_id, grant = caller.grant, "exchanged for a long-lived user token");
    Ok(Json(json!({
        "access_token": long,
        "token_type": "bearer",
        "expires_in": LONG_LIVED.num_seconds(),
    })))
}

pub(super) async fn permissions(Node(srv, id, params): Node) -> Graph {
    let (caller, _) = person(&srv, &params, &id, "permissions")?;
    let world = srv.world();
    let grant = world
        .grant(caller.grant)
        .ok_or_else(|| GraphError::unsupported("get", &id))?;
    // Graph always lists the public profile as granted; it is not a scope one can decline.
    let mut data = vec![json!({ "permission": "public_profile", "status": "granted" })];
    data.extend(
        grant
            .scopes
            .iter()
            .filter(|s| *s != "public_profile")
            .map(|s| json!({ "permission": s, "status": "granted" })),
    );
    data.extend(
        grant
            .declined
            .iter()
            .map(|s| json!({ "permission": s, "status": "declined" })),
    );
    Ok(Json(json!({ "data": data })))
}

/// `DELETE /{user-id}/permissions`: the person removes the app; every token of theirs for it stops.
pub(super) async fn revoke_login(Node(srv, id, params): Node) -> Graph {
    let (caller, _) = person(&srv, &params, &id, "permissions")?;
    let ended = srv.world().revoke_user(
        &caller.user_id,
        Some(&caller.client_id),
        RevokeReason::AppRemoved,
    );
    tracing::debug!(platform = %srv.platform, user_id = %caller.user_id, ended, "login revoked through the API");
    Ok(Json(json!({ "success": true })))
}

pub(super) async fn revoke_permission(
    State(srv): State<Arc<Server>>,
    Path((_, id, permission)): Path<(String, String, String)>,
    params: Params,
) -> Graph {
    let (caller, _) = person(&srv, &params, &id, "permissions")?;
    srv.world()
        .remove_scope(&caller.user_id, Some(&caller.client_id), &permission);
    tracing::debug!(platform = %srv.platform, user_id = %caller.user_id, %permission, "permission revoked through the API");
    Ok(Json(json!({ "success": true })))
}
