use crate::routes::{accounts, alerts, auth, connections, meta, platforms, posts};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "iQuivity Social API", description = "Connect and manage social media accounts from one dashboard."),
    paths(
        meta::healthz, meta::openapi,
        auth::sign_up, auth::log_in, auth::log_out, auth::me, auth::create_token, auth::invite, auth::accept_invitation,
        platforms::list,
        accounts::list, accounts::summary, accounts::get, accounts::update, accounts::remove, accounts::events, accounts::refresh_inactive, accounts::activity,
        connections::refresh, connections::start, connections::get, connections::select,
        posts::create, posts::list, posts::get, posts::update, posts::cancel, posts::retry, posts::removal_impact, posts::upload_media,
        alerts::create, alerts::list, alerts::remove, alerts::deliveries, alerts::notifications, alerts::mark_read,
    ),
    tags(
        (name = "auth", description = "Sign-up, sessions, API tokens and invitations"),
        (name = "accounts", description = "Connected social media accounts"),
        (name = "platforms", description = "The supported platforms"),
        (name = "connections", description = "Connecting accounts: consent on the platform, then choosing what to connect"),
        (name = "posts", description = "Publishing and scheduling posts to connected accounts"),
        (name = "alerts", description = "Notifications and signed webhooks"),
        (name = "meta", description = "Health and this document"),
    )
)]
pub struct ApiDoc;
