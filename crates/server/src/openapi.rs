use crate::routes::{accounts, auth, meta, platforms};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "iQuivity Social API", description = "Connect and manage social media accounts from one dashboard."),
    paths(
        meta::healthz, meta::openapi,
        auth::sign_up, auth::log_in, auth::log_out, auth::me, auth::create_token, auth::invite, auth::accept_invitation,
        platforms::list,
        accounts::list, accounts::summary, accounts::get, accounts::update, accounts::remove, accounts::events,
    ),
    tags(
        (name = "auth", description = "Sign-up, sessions, API tokens and invitations"),
        (name = "accounts", description = "Connected social media accounts"),
        (name = "platforms", description = "The supported platforms"),
        (name = "meta", description = "Health and this document"),
    )
)]
pub struct ApiDoc;
