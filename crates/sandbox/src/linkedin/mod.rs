//! LinkedIn's 3-legged OAuth (credentials in the body, non-rotating refresh tokens) and the member and
//! organisation APIs a connection and a post need (docs/platforms/linkedin.md §5).

pub(crate) mod images;
mod posts;
pub(crate) mod videos;

pub(crate) use posts::may_post_as;
use posts::{comment, create_post, delete_post, posts_by_author};

use crate::ids::{self, handle};
use crate::request::Params;
use crate::simulator::{no_layers, Pkce, Simulator};
use crate::state::{Caller, CodeError, Server, TokenError, TokenKind, World};
use crate::token::{ClientAuth, Issue, Refusal, TokenEndpoint};
use crate::{authorize, avatar_url, oauth_error, Reject};
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};
use std::sync::Arc;

const ACCESS_LIFETIME: TimeDelta = TimeDelta::days(60);
/// Fixed from the first consent: refreshing does not extend it (docs/platforms/linkedin.md §5.2).
const REFRESH_LIFETIME: TimeDelta = TimeDelta::days(365);

pub(crate) const SIMULATOR: Simulator = Simulator {
    client_param: "client_id",
    scope_separator: " ",
    code_by_default: false,
    // LinkedIn's web flow uses no PKCE.
    pkce: Pkce::Unused,
    denial: &[
        ("error", "access_denied"),
        (
            "error_description",
            "The member declined to authorize the application.",
        ),
    ],
    user_id,
    new_code: |_| ids::secret("AQT"),
    routes,
    not_found: |_, uri| not_found(uri).into_response(),
    outer_layers: no_layers,
    seed_json: |_, name| seed_json(name),
    rate_limited: |_, _| rate_limited().into_response(),
    server_error: || server_error().into_response(),
};

pub(crate) fn routes() -> Router<Arc<Server>> {
    Router::new()
        .route("/oauth/v2/authorization", get(authorize::page))
        .route("/oauth/v2/authorization/decide", post(authorize::decide))
        .route("/oauth/v2/accessToken", TOKENS.token_route())
        .route("/oauth/v2/revoke", TOKENS.revoke_route())
        .route("/v2/userinfo", get(userinfo))
        .route("/rest/organizationAcls", get(organization_acls))
        .route("/rest/organizations/{id}", get(organization))
        .route("/rest/posts", post(create_post).get(posts_by_author))
        .route("/rest/posts/{urn}", axum::routing::delete(delete_post))
        .route("/rest/socialActions/{urn}/comments", post(comment))
        .route("/rest/images", post(images::initialize))
        .route(
            "/dms-uploads/{id}",
            axum::routing::put(images::upload).layer(axum::extract::DefaultBodyLimit::max(
                images::MAX_IMAGE_BYTES + 1,
            )),
        )
        .route("/_sandbox/images", get(images::images))
        .route("/rest/videos", post(videos::action))
        .route("/rest/videos/{urn}", get(videos::video))
        .route(
            "/dms-uploads/video/{id}/{part}",
            axum::routing::put(videos::upload_part).layer(axum::extract::DefaultBodyLimit::max(
                usize::try_from(videos::PART_BYTES).unwrap_or(usize::MAX) + 1,
            )),
        )
        .route("/_sandbox/video-behaviour", post(videos::set_behaviour))
        .route("/_sandbox/videos", get(videos::videos))
}

// ---------------------------------------------------------------------------------------------------------
// Seed data

pub(crate) fn user_id(name: &str) -> String {
    ids::stable_alnum("linkedin-member", name, 10)
}

#[derive(Clone, Debug)]
pub(crate) struct SeedOrganization {
    pub id: u64,
    pub name: String,
    pub vanity_name: String,
    pub role: &'static str,
}

/// The organisations of the member named `name`: one they administer, one they create content for, and
/// one they only analyse (which clients must not offer for posting).
pub(crate) fn organizations(name: &str) -> Vec<SeedOrganization> {
    [
        ("Company", "ADMINISTRATOR"),
        ("Labs", "CONTENT_ADMINISTRATOR"),
        ("Partners", "ANALYST"),
    ]
    .into_iter()
    .map(|(suffix, role)| {
        let org_name = format!("{name} {suffix}");
        let digits = ids::stable_digits(&format!("linkedin-org-{suffix}"), name, 8);
        SeedOrganization {
            // Eight digits always fit in a u64.
            id: digits.parse().unwrap_or_default(),
            vanity_name: org_name
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("-"),
            name: org_name,
            role,
        }
    })
    .collect()
}

pub(crate) fn seed_json(name: &str) -> Value {
    let sub = user_id(name);
    json!({
        "id": sub,
        "name": name,
        "person_urn": format!("urn:li:person:{sub}"),
        "organizations": organizations(name).iter().map(|o| json!({
            "id": o.id,
            "urn": format!("urn:li:organization:{}", o.id),
            "name": o.name,
            "vanity_name": o.vanity_name,
            "role": o.role,
        })).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/// LinkedIn's error envelope.
fn error(status: StatusCode, service_code: Option<u32>, code: &str, message: &str) -> Reject {
    let mut body = json!({ "status": status.as_u16(), "code": code, "message": message });
    if let Some(service_code) = service_code {
        body["serviceErrorCode"] = json!(service_code);
    }
    Reject::new(status, body)
}

fn token_error(e: TokenError) -> Reject {
    let (service_code, code, message) = match e {
        TokenError::Missing => (65604, "INVALID_ACCESS_TOKEN", "Empty oauth2 access token"),
        TokenError::Unknown => (65604, "INVALID_ACCESS_TOKEN", "Invalid access token"),
        TokenError::Expired(_) => (
            65600,
            "EXPIRED_ACCESS_TOKEN",
            "The token used in the request has expired",
        ),
        TokenError::Revoked(_) => (
            65601,
            "REVOKED_ACCESS_TOKEN",
            "The token used in the request has been revoked by the user",
        ),
    };
    error(StatusCode::UNAUTHORIZED, Some(service_code), code, message)
}

pub(crate) fn access_denied(resource: &str) -> Reject {
    error(
        StatusCode::FORBIDDEN,
        Some(100),
        "ACCESS_DENIED",
        &format!("Not enough permissions to access: {resource}"),
    )
}

/// A field the Posts API requires is absent (LinkedIn answers 422 with the field's path).
pub(crate) fn missing_field(field: &str) -> Reject {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        "UNPROCESSABLE_ENTITY",
        &format!("ERROR :: /{field} :: field is required but not found and has no default value"),
    )
}

pub(crate) fn illegal_argument(message: &str) -> Reject {
    error(StatusCode::BAD_REQUEST, None, "ILLEGAL_ARGUMENT", message)
}

pub(crate) fn rate_limited() -> Reject {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        Some(101),
        "TOO_MANY_REQUESTS",
        "Resource level throttle limit reached",
    )
}

pub(crate) fn server_error() -> Reject {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "INTERNAL_SERVER_ERROR",
        "Internal Server Error",
    )
}

fn not_found(uri: &Uri) -> Reject {
    error(
        StatusCode::NOT_FOUND,
        None,
        "NOT_FOUND",
        &format!("Resource {} does not exist", uri.path()),
    )
}

// ---------------------------------------------------------------------------------------------------------
// OAuth

/// LinkedIn's token endpoint (docs/platforms/linkedin.md §5.1): the client's credentials in the form body
/// only (Basic auth is not supported); refresh tokens keep their fixed lifetime and do not rotate.
static TOKENS: TokenEndpoint = TokenEndpoint {
    client_auth: ClientAuth::Form {
        id_field: "client_id",
    },
    exchange_needs: &["redirect_uri"],
    rotates: false,
    answer,
    refuse,
    // 200 with an empty body.
    revoked: || StatusCode::OK.into_response(),
};

fn refuse(refusal: Refusal) -> Reject {
    let (status, error, description) = match refusal {
        Refusal::Missing(name) => (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("A required parameter \"{name}\" is missing"),
        ),
        Refusal::BadClient | Refusal::ClientMismatch => (
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed".into(),
        ),
        Refusal::GrantType => (
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token".into(),
        ),
        Refusal::Code(CodeError::RedirectMismatch) => (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Unable to retrieve access token: appid/redirect uri/code verifier does not match \
             authorization code. Or authorization code expired."
                .into(),
        ),
        Refusal::Code(_) | Refusal::Verifier => (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, or was already used."
                .into(),
        ),
        Refusal::Refresh => (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The provided refresh token is invalid, expired or revoked.".into(),
        ),
    };
    oauth_error(status, error, &description)
}

/// A new access token; a consent also gets a refresh token, a renewal the same one back with what is left
/// of its fixed lifetime.
fn answer(world: &mut World, issue: Issue, now: DateTime<Utc>) -> Value {
    let grant = issue.grant();
    let scopes = world
        .grant(grant)
        .map(|g| g.scopes.join(","))
        .unwrap_or_default();
    let access = world.issue(grant, TokenKind::Access, "AQV", Some(ACCESS_LIFETIME), now);
    let (refresh, refresh_lifetime) = match issue {
        Issue::Consent { .. } => (
            world.issue(
                grant,
                TokenKind::Refresh,
                "AQX",
                Some(REFRESH_LIFETIME),
                now,
            ),
            REFRESH_LIFETIME,
        ),
        Issue::Renewal {
            presented,
            refresh_expires_at,
            ..
        } => (
            presented.to_string(),
            refresh_expires_at.map_or(REFRESH_LIFETIME, |at| at - now),
        ),
    };
    json!({
        "access_token": access,
        "expires_in": ACCESS_LIFETIME.num_seconds(),
        "scope": scopes,
        "refresh_token": refresh,
        "refresh_token_expires_in": refresh_lifetime.num_seconds(),
    })
}

// ---------------------------------------------------------------------------------------------------------
// API

pub(crate) fn authenticate(srv: &Server, params: &Params) -> Result<Caller, Reject> {
    srv.world()
        .authenticate(params.bearer(), Utc::now())
        .map_err(token_error)
}

/// `/rest/*` resources are versioned: the `LinkedIn-Version` header is required, whatever its value.
pub(crate) fn require_version(params: &Params) -> Result<(), Reject> {
    match params.header("linkedin-version") {
        Some(v) if !v.trim().is_empty() => Ok(()),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            None,
            "VERSION_MISSING",
            "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
        )),
    }
}

async fn userinfo(State(srv): State<Arc<Server>>, params: Params) -> Result<Json<Value>, Reject> {
    let caller = authenticate(&srv, &params)?;
    if !caller.has("openid") || !caller.has("profile") {
        return Err(access_denied("userinfo.GET.NO_VERSION"));
    }
    let (given, family) = caller
        .user_name
        .split_once(' ')
        .unwrap_or((caller.user_name.as_str(), ""));
    let mut body = json!({
        "sub": caller.user_id,
        "name": caller.user_name,
        "given_name": given,
        "family_name": family,
        "picture": avatar_url(&srv, &caller.user_id),
        "locale": { "country": "US", "language": "en" },
    });
    if caller.has("email") {
        body["email"] = json!(format!("{}@example.com", handle(&caller.user_name)));
        body["email_verified"] = json!(true);
    }
    Ok(Json(body))
}

fn number(params: &Params, name: &str, default: usize) -> Result<usize, Reject> {
    params.query(name).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| illegal_argument(&format!("{name} must be a number")))
    })
}

async fn organization_acls(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    require_version(&params)?;
    let caller = authenticate(&srv, &params)?;
    if !caller.has("rw_organization_admin") && !caller.has("r_organization_admin") {
        return Err(access_denied("organizationAcls.FINDER-roleAssignee"));
    }
    if params.query("q") != Some("roleAssignee") {
        return Err(illegal_argument(
            "The only finder supported is q=roleAssignee",
        ));
    }
    let start = number(&params, "start", 0)?;
    let count = number(&params, "count", 10)?;
    let role = params.query("role");
    // Every seeded role is approved; asking for another state finds nothing.
    let approved = params.query("state").is_none_or(|s| s == "APPROVED");
    let elements: Vec<Value> = organizations(&caller.user_name)
        .into_iter()
        .filter(|o| approved && role.is_none_or(|r| r == o.role))
        .map(|o| {
            json!({
                "organization": format!("urn:li:organization:{}", o.id),
                "role": o.role,
                "roleAssignee": format!("urn:li:person:{}", caller.user_id),
                "state": "APPROVED",
            })
        })
        .collect();
    let total = elements.len();
    let page: Vec<Value> = elements.into_iter().skip(start).take(count).collect();
    Ok(Json(json!({
        "elements": page,
        "paging": { "count": count, "start": start, "total": total, "links": [] },
    })))
}

async fn organization(
    State(srv): State<Arc<Server>>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    require_version(&params)?;
    authenticate(&srv, &params)?;
    let id: u64 = id
        .parse()
        .map_err(|_| illegal_argument("The organization id must be a number"))?;
    // Basic organisation data is public on LinkedIn: any member's organisations can be looked up.
    let found = srv
        .world()
        .users()
        .flat_map(|u| organizations(&u.name))
        .find(|o| o.id == id);
    let o = found.ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            None,
            "NOT_FOUND",
            &format!("Organization {id} does not exist"),
        )
    })?;
    Ok(Json(
        json!({ "id": o.id, "localizedName": o.name, "vanityName": o.vanity_name }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizations_are_stable_with_the_documented_roles() {
        let orgs = organizations("Ann Lee");
        let names: Vec<_> = orgs.iter().map(|o| (o.name.as_str(), o.role)).collect();
        assert_eq!(
            names,
            [
                ("Ann Lee Company", "ADMINISTRATOR"),
                ("Ann Lee Labs", "CONTENT_ADMINISTRATOR"),
                ("Ann Lee Partners", "ANALYST"),
            ]
        );
        assert_eq!(orgs[0].vanity_name, "ann-lee-company");
        assert!(orgs[0].id >= 10_000_000);
        assert_eq!(orgs[0].id, organizations("Ann Lee")[0].id);
        assert_ne!(orgs[0].id, organizations("Bob")[0].id);
        assert_eq!(user_id("Ann Lee").len(), 10);
    }
}
