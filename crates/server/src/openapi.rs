use crate::routes::{
    accounts, alerts, auth, calendar, clients, connections, links, meta, platforms, posts,
};
use iquivity_core::alerts::TEST_EVENT;
use iquivity_domain::AlertKind;
use utoipa::OpenApi;

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::Modify;

#[derive(OpenApi)]
#[openapi(
    info(title = "iQuivity Social API", description = "Connect and manage social media accounts from one dashboard."),
    paths(
        meta::healthz, meta::readyz, meta::openapi,
        auth::sign_up, auth::log_in, auth::log_out, auth::me, auth::create_token, auth::invite, auth::accept_invitation,
        platforms::list,
        clients::list, clients::create, clients::update, clients::remove,
        links::create, links::list, links::revoke, links::uses, links::reconnect_request, links::access_link,
        accounts::list, accounts::summary, accounts::get, accounts::update, accounts::remove, accounts::events, accounts::refresh_inactive, accounts::activity, accounts::bulk,
        connections::refresh, connections::start, connections::get, connections::select,
        calendar::calendar,
        posts::publish, posts::duplicate, posts::get_queue, posts::set_queue, posts::get_client_queue, posts::set_client_queue,
        posts::create, posts::list, posts::get, posts::update, posts::cancel, posts::retry, posts::delete_published, posts::retry_comment, posts::continue_thread, posts::removal_impact, posts::upload_media,
        alerts::create, alerts::list, alerts::update, alerts::remove, alerts::deliveries, alerts::rotate_secret, alerts::send_test, alerts::notifications, alerts::mark_read,
    ),
    components(schemas(
        crate::views::AccountEvent, crate::views::AccountEventData, crate::views::AccountSnapshot,
        crate::views::WebhookEvent, crate::views::WebhookEventData, crate::views::WebhookSnapshot,
    )),
    modifiers(&ErrorAnswers, &Security),
    tags(
        (name = "auth", description = "Sign-up, sessions, API tokens and invitations"),
        (name = "accounts", description = "Connected social media accounts"),
        (name = "platforms", description = "The supported platforms"),
        (name = "clients", description = "The clients a workspace manages accounts for"),
        (name = "links", description = "Links for account owners: connect accounts, reconnect one, or see a client's accounts, without signing in"),
        (name = "connections", description = "Connecting accounts: consent on the platform, then choosing what to connect"),
        (name = "posts", description = "Publishing and scheduling posts to connected accounts"),
        (name = "alerts", description = "Notifications and signed webhooks"),
        (name = "meta", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

impl ApiDoc {
    /// The whole document: the API, and under `webhooks` (OpenAPI 3.1) each event a webhook can be sent,
    /// which utoipa has no field for.
    pub fn document() -> serde_json::Value {
        let mut document = serde_json::to_value(Self::openapi()).unwrap_or_default();
        let mut webhooks = serde_json::Map::new();
        for kind in AlertKind::ALL {
            webhooks.insert(
                kind.as_str().to_string(),
                webhook_operation(kind.as_str(), event_schema(kind), alert_summary(kind)),
            );
        }
        webhooks.insert(
            TEST_EVENT.to_string(),
            webhook_operation(
                TEST_EVENT,
                "WebhookEvent",
                "Sent on request by POST /api/v1/webhooks/{id}/test",
            ),
        );
        document["webhooks"] = serde_json::Value::Object(webhooks);
        document
    }
}

/// The schema of the events of a kind.
fn event_schema(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Connected
        | AlertKind::StatusChanged
        | AlertKind::Recovered
        | AlertKind::Expiring
        | AlertKind::Removed
        | AlertKind::PostsAtRisk
        | AlertKind::RemovalRequested => "AccountEvent",
        AlertKind::WebhookDisabled => "WebhookEvent",
    }
}

fn alert_summary(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Connected => "An account was connected (or reconnected)",
        AlertKind::StatusChanged => "An account became Inactive or Failed, or its reason changed",
        AlertKind::Recovered => "An account works again",
        AlertKind::Expiring => {
            "An account's token ends within 7 days and cannot be renewed without its owner"
        }
        AlertKind::Removed => "An account was removed",
        AlertKind::PostsAtRisk => {
            "Posts are scheduled within a day to an account that is not Active"
        }
        AlertKind::WebhookDisabled => {
            "A webhook failed for 3 days and was disabled until enabled again"
        }
        AlertKind::RemovalRequested => {
            "An account's owner asked, on the client's access page, that the account be removed"
        }
    }
}

/// A `webhooks` entry: the POST the service makes to the receiver.
fn webhook_operation(kind: &str, schema: &str, summary: &str) -> serde_json::Value {
    serde_json::json!({
        "post": {
            "summary": summary,
            "description": format!(
                "Sent as `{kind}` in the `type` field and the `X-Iquivity-Event` header, with `X-Iquivity-Delivery` \
                 (the delivery's id) and `X-Iquivity-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>` \
                 (one `v1` per secret while a rotated secret still signs). Any 2xx answer within 10 s acknowledges \
                 it; anything else is retried after 1, 5, 15, 30 and 60 minutes, then every 3 hours, ten attempts in all."
            ),
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
            },
            "responses": { "2XX": { "description": "Received" } }
        }
    })
}

/// Operations anyone may call; every other one needs a session cookie or an API token.
const PUBLIC: [&str; 5] = [
    "/healthz",
    "/readyz",
    "/api/v1/openapi.json",
    "/api/v1/auth/signup",
    "/api/v1/auth/login",
];

/// The error answers the service gives, each a shared component as `application/problem+json`: which
/// ones an operation can give follows from its shape (a path id, a body, being signed in), so they are
/// added here once rather than listed on every route.
struct ErrorAnswers;

/// The shared error answers: status, component name and when an operation can give it.
const ERRORS: [(&str, &str, &str, When); 10] = [
    (
        "400",
        "BadRequest",
        "The request could not be read (a malformed query or body)",
        When::Always,
    ),
    (
        "401",
        "Unauthorized",
        "No valid session or API token",
        When::SignedIn,
    ),
    (
        "403",
        "Forbidden",
        "The caller's role does not allow it, or the form's CSRF token is missing",
        When::SignedIn,
    ),
    (
        "404",
        "NotFound",
        "No such item in the caller's workspace",
        When::PathId,
    ),
    (
        "409",
        "Conflict",
        "The item is not in a state that allows it",
        When::Declared,
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than the service takes",
        When::Body,
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body's Content-Type is not one the operation takes",
        When::Body,
    ),
    (
        "422",
        "Unprocessable",
        "The input is invalid: `errors` names each field at fault",
        When::Always,
    ),
    (
        "429",
        "TooManyRequests",
        "Too many attempts: `retry_after` says when to try again",
        When::Always,
    ),
    (
        "500",
        "ServerError",
        "The service failed: `request_id` identifies it in the service's log",
        When::Always,
    ),
];

#[derive(Clone, Copy, PartialEq)]
enum When {
    Always,
    SignedIn,
    PathId,
    Body,
    /// Only where the route itself says it can happen.
    Declared,
}

const PROBLEM_JSON: &str = "application/problem+json";

impl Modify for ErrorAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description, _) in ERRORS {
            let problem = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content(PROBLEM_JSON, problem)
                .build();
            components
                .responses
                .insert(name.to_string(), response.into());
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let signed_in = !PUBLIC.contains(&path.as_str());
            let path_id = path.contains('{');
            for operation in operations(item) {
                let body = operation.request_body.is_some();
                let answers = &mut operation.responses.responses;
                for (status, name, _, when) in ERRORS {
                    // A route's own listing of a shared answer is replaced by the shared one.
                    let applies = answers.contains_key(status)
                        || match when {
                            When::Always => true,
                            When::SignedIn => signed_in,
                            When::PathId => path_id,
                            When::Body => body,
                            When::Declared => false,
                        };
                    if applies {
                        answers.insert(status.to_string(), Ref::from_response_name(name).into());
                    }
                }
                if !signed_in {
                    // No scheme needed: overrides the document-wide requirement.
                    operation.security = Some(Vec::new());
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.put.as_mut(),
        item.patch.as_mut(),
        item.delete.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// A session cookie (the pages, and a browser calling the API) or an API token as a bearer token.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::extract::SESSION_COOKIE,
            ))),
        );
        openapi.security = Some(vec![
            SecurityRequirement::new("token", Vec::<String>::new()),
            SecurityRequirement::new("session", Vec::<String>::new()),
        ]);
    }
}
