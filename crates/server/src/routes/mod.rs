pub mod accounts;
pub mod alerts;
pub mod auth;
pub mod calendar;
pub mod clients;
pub mod connections;
pub mod links;
pub mod meta;
pub mod platforms;
pub mod posts;

use crate::{pages, AppState};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

/// For an optional field that may be `null`: tells "absent" (outer `None`) from "null" (`Some(None)`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::platforms::index))
        .route(
            "/signup",
            get(pages::auth::signup_page).post(pages::auth::signup),
        )
        .route(
            "/login",
            get(pages::auth::login_page).post(pages::auth::login),
        )
        .route("/logout", post(pages::auth::logout))
        .route(
            "/forgot-password",
            get(pages::password::request_page).post(pages::password::request),
        )
        .route(
            "/reset-password",
            get(pages::password::reset_page).post(pages::password::reset),
        )
        .route("/invitations/{code}", get(pages::auth::invitation_page))
        .route(
            "/invitations/{code}/accept",
            post(pages::auth::accept_invitation),
        )
        .route("/settings", get(pages::settings::index))
        .route("/settings/plan", get(pages::plan::index))
        .route(
            "/settings/links",
            get(pages::links::index).post(pages::links::create),
        )
        .route("/settings/links/access", post(pages::links::create_access))
        .route("/settings/links/{id}/revoke", post(pages::links::revoke))
        .route(
            "/accounts/{id}/reconnect-request",
            post(pages::links::reconnect_request),
        )
        .route("/calendar", get(pages::calendar::index))
        .route(
            "/accounts/{id}/queue",
            get(pages::queue::show).post(pages::queue::save),
        )
        .route(
            "/clients/{id}/queue",
            get(pages::queue::show_client).post(pages::queue::save_client),
        )
        .route("/posts/{id}", get(pages::post::show))
        .route("/posts/{id}/reschedule", post(pages::post::reschedule))
        .route("/posts/{id}/cancel", post(pages::post::cancel))
        .route("/posts/{id}/publish", post(pages::post::publish))
        .route("/posts/{id}/duplicate", post(pages::post::duplicate))
        .route(
            "/posts/{id}/targets/{target}/retry",
            post(pages::post::retry),
        )
        .route(
            "/posts/{id}/targets/{target}/delete",
            post(pages::post::delete_published),
        )
        .route(
            "/posts/{id}/targets/{target}/comment",
            post(pages::post::retry_comment),
        )
        .route(
            "/posts/{id}/targets/{target}/thread",
            post(pages::post::continue_thread),
        )
        .route("/l/{token}", get(pages::links::open))
        .route("/l/{token}/start", post(pages::links::start))
        .route(
            "/l/{token}/remove-request",
            post(pages::links::remove_request),
        )
        .route("/l/flow/{id}", get(pages::links::flow))
        .route("/l/flow/{id}/select", post(pages::links::select))
        .route("/settings/invitations", post(pages::settings::invite))
        .route(
            "/settings/alert-emails",
            post(pages::settings::save_alert_emails),
        )
        .route("/settings/test-email", post(pages::settings::test_email))
        .route(
            "/unsubscribe/{token}",
            get(pages::unsubscribe::ask).post(pages::unsubscribe::confirm),
        )
        .route("/settings/webhooks", post(pages::settings::add_webhook))
        .route(
            "/settings/webhooks/{id}/delete",
            post(pages::settings::delete_webhook),
        )
        .route(
            "/settings/webhooks/{id}/enable",
            post(pages::settings::enable_webhook),
        )
        .route("/fragments/accounts", get(pages::platforms::fragment))
        .route(
            "/posts",
            get(pages::posts::index).post(pages::posts::create),
        )
        .route("/notifications", get(pages::notifications::history))
        .route("/accounts/bulk", post(pages::platforms::bulk))
        .route("/avatars/{id}", get(pages::platforms::avatar))
        .route("/notifications/read", post(pages::notifications::mark_read))
        .route(
            "/accounts/refresh-inactive",
            post(pages::platforms::refresh_inactive),
        )
        .route("/accounts/{id}", get(pages::platforms::details))
        .route("/accounts/{id}/refresh", post(pages::platforms::refresh))
        .route("/accounts/{id}/edit", post(pages::platforms::edit))
        .route(
            "/accounts/{id}/remove",
            get(pages::platforms::remove_page).post(pages::platforms::remove),
        )
        .route("/assets/app.js", get(meta::script))
        .route("/healthz", get(meta::healthz))
        .route("/metrics", get(meta::metrics))
        .route("/readyz", get(meta::readyz))
        .route("/api/v1/openapi.json", get(meta::openapi))
        .route("/api/docs", get(pages::api_docs::index))
        .route("/api/v1/auth/signup", post(auth::sign_up))
        .route("/api/v1/auth/login", post(auth::log_in))
        .route("/api/v1/auth/logout", post(auth::log_out))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/tokens", post(auth::create_token))
        .route("/api/v1/invitations", post(auth::invite))
        .route("/api/v1/invitations/accept", post(auth::accept_invitation))
        .route("/api/v1/platforms", get(platforms::list))
        .route("/api/v1/accounts", get(accounts::list))
        .route("/api/v1/accounts/summary", get(accounts::summary))
        .route("/api/v1/accounts/bulk", post(accounts::bulk))
        .route(
            "/api/v1/accounts/refresh-inactive",
            post(accounts::refresh_inactive),
        )
        .route("/api/v1/activity", get(accounts::activity))
        .route("/api/v1/posts", get(posts::list).post(posts::create))
        .route("/api/v1/calendar", get(calendar::calendar))
        .route("/api/v1/posts/{id}/publish", post(posts::publish))
        .route(
            "/api/v1/accounts/{id}/queue",
            get(posts::get_queue).put(posts::set_queue),
        )
        .route(
            "/api/v1/clients/{id}/queue",
            get(posts::get_client_queue).put(posts::set_client_queue),
        )
        .route("/api/v1/posts/{id}/duplicate", post(posts::duplicate))
        .route(
            "/api/v1/media",
            post(posts::upload_media).layer(axum::extract::DefaultBodyLimit::max(
                iquivity_core::media::MAX_MEDIA_BYTES,
            )),
        )
        .route("/media/{file}", get(posts::media))
        .route(
            "/api/v1/posts/{id}",
            get(posts::get).patch(posts::update).delete(posts::cancel),
        )
        .route(
            "/api/v1/posts/{id}/targets/{target}/retry",
            post(posts::retry),
        )
        .route(
            "/api/v1/posts/{id}/targets/{target}",
            axum::routing::delete(posts::delete_published),
        )
        .route(
            "/api/v1/posts/{id}/targets/{target}/comment/retry",
            post(posts::retry_comment),
        )
        .route(
            "/api/v1/posts/{id}/targets/{target}/thread/continue",
            post(posts::continue_thread),
        )
        .route(
            "/api/v1/accounts/{id}/removal-impact",
            get(posts::removal_impact),
        )
        .route(
            "/api/v1/accounts/{id}",
            get(accounts::get)
                .patch(accounts::update)
                .delete(accounts::remove),
        )
        .route("/api/v1/accounts/{id}/events", get(accounts::events))
        .route("/api/v1/accounts/{id}/refresh", post(connections::refresh))
        .route("/api/v1/connections", post(connections::start))
        .route("/api/v1/clients", get(clients::list).post(clients::create))
        .route(
            "/api/v1/connect-links",
            get(links::list).post(links::create),
        )
        .route(
            "/api/v1/connect-links/{id}",
            axum::routing::delete(links::revoke),
        )
        .route("/api/v1/connect-links/{id}/uses", get(links::uses))
        .route(
            "/api/v1/accounts/{id}/reconnect-request",
            post(links::reconnect_request),
        )
        .route("/api/v1/clients/{id}/access-link", post(links::access_link))
        .route(
            "/api/v1/clients/{id}",
            axum::routing::delete(clients::remove).patch(clients::update),
        )
        .route("/api/v1/webhooks", get(alerts::list).post(alerts::create))
        .route(
            "/api/v1/webhooks/{id}",
            axum::routing::delete(alerts::remove).patch(alerts::update),
        )
        .route("/api/v1/webhooks/{id}/deliveries", get(alerts::deliveries))
        .route("/api/v1/webhooks/{id}/secret", post(alerts::rotate_secret))
        .route("/api/v1/webhooks/{id}/test", post(alerts::send_test))
        .route("/api/v1/notifications", get(alerts::notifications))
        .route("/api/v1/notifications/read", post(alerts::mark_read))
        .route("/api/v1/connections/{id}", get(connections::get))
        .route("/api/v1/connections/{id}/select", post(connections::select))
        .route("/connect/{platform}", get(pages::connect::start))
        .route("/oauth/{platform}/callback", get(pages::connect::callback))
        .route("/connections/{id}", get(pages::connect::show))
        .route("/connections/{id}/select", post(pages::connect::select))
        .route("/assets/app.css", get(meta::stylesheet))
        .route("/assets/icon.svg", get(meta::icon))
        .route("/favicon.ico", get(meta::icon))
        .layer(axum::middleware::from_fn(pages::errors::as_html))
        // Inside the router, where the matched route template is known.
        .route_layer(axum::middleware::from_fn(crate::http_metrics::record))
}
