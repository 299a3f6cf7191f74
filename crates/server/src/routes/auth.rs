use crate::client_addr::ClientAddr;
use crate::error::AppError;
use crate::extract::{Authenticated, CheckedSessionCookie, JsonBody, SESSION_COOKIE};
use crate::views::SessionView;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use iquivity_core::auth::{NewSession, SignUp};
use iquivity_domain::{Role, WorkspaceId};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    email: String,
    password: String,
    /// The workspace to create and own; omit when joining through `invitation`.
    workspace_name: Option<String>,
    /// An invitation code: join that workspace.
    invitation: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
    /// Which of your workspaces to sign in to; the first one joined when omitted.
    workspace_id: Option<WorkspaceId>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for, e.g. "reporting script".
    name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedTokenView {
    id: uuid::Uuid,
    name: String,
    /// Shown once: store it now. Use it as `Authorization: Bearer <token>`.
    token: String,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// `admin` or `member`.
    role: String,
    /// When given, only this address can accept.
    email: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    id: uuid::Uuid,
    role: Role,
    email: Option<String>,
    /// Single-use code; sign up with it as `invitation`, or accept it while signed in.
    code: String,
    /// The link to send to the invitee.
    url: String,
    expires_at: DateTime<Utc>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    code: String,
}

pub(crate) fn session_cookie_header(
    state: &AppState,
    value: &str,
    max_age_secs: i64,
) -> HeaderValue {
    let secure = if state.settings.is_https() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn with_session(state: &AppState, status: StatusCode, session: NewSession) -> Response {
    let max_age = (session.expires_at - Utc::now()).num_seconds().max(0);
    let cookie = session_cookie_header(state, session.id.expose_secret(), max_age);
    let mut response = (
        status,
        Json(SessionView::new(&session.caller, Some(session.expires_at))),
    )
        .into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

/// Creates a user and a workspace they own (or joins one through an invitation), and signs them in.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignUpRequest,
    responses((status = 201, body = SessionView, description = "Signed up; the session cookie is set"),
              (status = 409, body = crate::Problem), (status = 422, body = crate::Problem),
              (status = 429, body = crate::Problem, description = "Too many sign-ups from this address; see Retry-After")))]
pub async fn sign_up(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<SignUpRequest>,
) -> Result<Response, AppError> {
    let session = state
        .core
        .sign_up(SignUp {
            email: &body.email,
            password: &body.password,
            workspace_name: body.workspace_name.as_deref(),
            invitation: body.invitation.as_deref(),
            client,
        })
        .await?;
    Ok(with_session(&state, StatusCode::CREATED, session))
}

/// Signs in with email and password. Past 5 attempts in 15 minutes an account refuses more for a while;
/// past 20 from one address the answers are slowed.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = SessionView, description = "Signed in; the session cookie is set"),
              (status = 401, body = crate::Problem), (status = 429, body = crate::Problem)))]
pub async fn log_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<Response, AppError> {
    let session = state
        .core
        .log_in(&body.email, &body.password, client, body.workspace_id)
        .await?;
    Ok(with_session(&state, StatusCode::OK, session))
}

/// Ends the session and clears its cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204, description = "Signed out"),
    (status = 403, body = crate::Problem, description = "A browser's request without the session's X-CSRF-Token")))]
pub async fn log_out(
    State(state): State<AppState>,
    CheckedSessionCookie(session): CheckedSessionCookie,
) -> Result<Response, AppError> {
    if let Some(session) = session {
        state.core.log_out(&session).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie_header(&state, "", 0));
    Ok(response)
}

/// Who is signed in, in which workspace, with which role.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = SessionView), (status = 401, body = crate::Problem)))]
pub async fn me(Authenticated(caller): Authenticated) -> Json<SessionView> {
    Json(SessionView::new(&caller, None))
}

/// Issues a personal API token for the current workspace. The token is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedTokenView), (status = 401, body = crate::Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedTokenView>), AppError> {
    let created = state.core.create_api_token(&caller, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenView {
            id: created.id,
            name: created.name,
            token: created.token.expose_secret().to_string(),
            created_at: created.created_at,
        }),
    ))
}

/// Owners invite someone as admin or member; the link works once and expires after 7 days.
#[utoipa::path(post, path = "/api/v1/invitations", tag = "auth", request_body = InviteRequest,
    responses((status = 201, body = InvitationView), (status = 403, body = crate::Problem)))]
pub async fn invite(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<InviteRequest>,
) -> Result<(StatusCode, Json<InvitationView>), AppError> {
    let created = state
        .core
        .invite(&caller, &body.role, body.email.as_deref())
        .await?;
    let base = state
        .settings
        .public_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/');
    let code = created.code.expose_secret().to_string();
    Ok((
        StatusCode::CREATED,
        Json(InvitationView {
            id: created.id,
            role: created.role,
            email: created.email,
            url: format!("{base}/invitations/{code}"),
            code,
            expires_at: created.expires_at,
        }),
    ))
}

/// The signed-in user joins the workspace of the invitation; the session moves to it.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "auth", request_body = AcceptInvitationRequest,
    responses((status = 200, body = SessionView), (status = 422, body = crate::Problem)))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<AcceptInvitationRequest>,
) -> Result<Response, AppError> {
    let session = state
        .core
        .accept_invitation(caller.user_id, &body.code)
        .await?;
    Ok(with_session(&state, StatusCode::OK, session))
}
