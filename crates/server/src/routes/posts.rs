use crate::error::AppError;
use crate::extract::{Authenticated, JsonBody};
use crate::views::{MediaView, PostView, RemovalImpactView, ThreadPartView, VariantView};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use iquivity_core::posts::{NewPost, PostEdit, QueueSpec, TargetRef};
use iquivity_core::CoreError;
use iquivity_domain::AccountId;
use iquivity_store::{PostRecord, PostVariant, QueueOwner, QueueRecord, QueueSlot};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePostRequest {
    text: String,
    link: Option<String>,
    /// Public image or video URLs the platforms fetch themselves.
    #[serde(default)]
    media: Vec<MediaView>,
    /// TikTok: one of the creator's privacy options (default: the first one TikTok offers).
    privacy_level: Option<String>,
    /// The accounts to publish to.
    accounts: Vec<AccountId>,
    /// When to publish (RFC 3339); now when omitted.
    publish_at: Option<DateTime<Utc>>,
    /// `draft` saves it without scheduling it (`POST /api/v1/posts/{id}/publish` schedules it later);
    /// `scheduled` (the default) schedules it now.
    #[serde(default)]
    status: Option<String>,
    /// Its own text for some networks (`{"platform": "x", "text": ...}`) or accounts
    /// (`{"account": ID, "text": ...}`); an account's version wins over its network's.
    #[serde(default)]
    variants: Vec<VariantView>,
    /// "Add to queue": each account's next free posting time (`PUT /api/v1/accounts/{id}/queue`) instead
    /// of `publish_at`.
    #[serde(default)]
    queue: bool,
    /// Added as a comment under the post once it is published, on Facebook Pages, Instagram, LinkedIn and
    /// X (a reply); its result is each target's `comment`.
    first_comment: Option<String>,
    /// On X: the parts after the post, each with its own media, published in order as replies; each
    /// target's `thread` says how far it went.
    #[serde(default)]
    thread: Vec<ThreadPartView>,
}

/// `/api/v1/posts/{id}/targets/{target}`: the post's and the target's ids, each named when it is not one.
pub(crate) struct TargetPath(pub TargetRef);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for TargetPath {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let Path((id, target)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::not_found("target"))?;
        Ok(TargetPath(TargetRef {
            post: parse_uuid("id", &id)?,
            target: parse_uuid("target", &target)?,
        }))
    }
}

/// A post as the API answers it.
fn post_view(post: PostRecord) -> Json<PostView> {
    Json(post.into())
}

fn parse_uuid(field: &str, raw: &str) -> Result<uuid::Uuid, AppError> {
    raw.parse()
        .map_err(|_| AppError::bad_request(field, format!("{raw:?} is not an id")))
}

/// Publishes a post to several accounts, now or at `publish_at`; every account is checked against its
/// platform's rules first (X 280 characters, Instagram and TikTok need media, ...). Owners and admins.
#[utoipa::path(post, path = "/api/v1/posts", tag = "posts", request_body = CreatePostRequest,
    responses((status = 201, body = PostView), (status = 422, body = crate::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreatePostRequest>,
) -> Result<(StatusCode, Json<PostView>), AppError> {
    let new = NewPost {
        text: body.text,
        link: body.link,
        media: body.media.into_iter().map(Into::into).collect(),
        privacy_level: body.privacy_level,
        accounts: body.accounts,
        publish_at: body.publish_at,
        variants: body.variants.into_iter().map(Into::into).collect(),
        first_comment: body.first_comment,
        thread: body.thread.into_iter().map(Into::into).collect(),
    };
    let post = match body.status.as_deref() {
        _ if body.queue => state.core.queue_post(&caller, new).await?,
        Some("draft") => state.core.save_draft(&caller, new).await?,
        None | Some("scheduled") => state.core.create_post(&caller, new).await?,
        Some(other) => {
            return Err(CoreError::invalid(
                "status",
                format!("{other:?} is not a status; expected draft or scheduled"),
            )
            .into())
        }
    };
    Ok((StatusCode::CREATED, Json(post.into())))
}

/// The workspace's posts, newest first, each with its per-account results.
#[utoipa::path(get, path = "/api/v1/posts", tag = "posts", responses((status = 200, body = [PostView])))]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Vec<PostView>>, AppError> {
    let posts = state.core.posts(&caller).await?;
    Ok(Json(posts.into_iter().map(PostView::from).collect()))
}

/// One post with its per-account results: state, the platform's post id and URL, or why it failed.
#[utoipa::path(get, path = "/api/v1/posts/{id}", tag = "posts", params(("id" = String, Path)),
    responses((status = 200, body = PostView), (status = 404, body = crate::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<PostView>, AppError> {
    Ok(post_view(
        state.core.post(&caller, parse_uuid("id", &id)?).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePostRequest {
    text: Option<String>,
    /// `null` removes the link.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    link: Option<Option<String>>,
    publish_at: Option<DateTime<Utc>>,
    /// The accounts to publish to instead of the current ones, each once. Accounts already on the post
    /// keep their result; the others are added as scheduled.
    accounts: Option<Vec<AccountId>>,
    /// The versions for networks or accounts instead of the current ones (`[]` removes them all).
    variants: Option<Vec<VariantView>>,
    /// `null` removes the first comment.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    first_comment: Option<Option<String>>,
}

/// Changes a post's text, link, time, accounts or versions while nothing of it has been published yet.
#[utoipa::path(patch, path = "/api/v1/posts/{id}", tag = "posts", params(("id" = String, Path)),
    request_body = UpdatePostRequest,
    responses((status = 200, body = PostView), (status = 409, body = crate::Problem), (status = 422, body = crate::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdatePostRequest>,
) -> Result<Json<PostView>, AppError> {
    Ok(post_view(
        state
            .core
            .update_post(
                &caller,
                parse_uuid("id", &id)?,
                PostEdit {
                    text: body.text,
                    link: body.link,
                    publish_at: body.publish_at,
                    accounts: body.accounts,
                    variants: body
                        .variants
                        .map(|v| v.into_iter().map(PostVariant::from).collect()),
                    first_comment: body.first_comment,
                },
            )
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishDraftRequest {
    /// When to publish (RFC 3339); now when omitted.
    #[serde(default)]
    publish_at: Option<DateTime<Utc>>,
}

/// Schedules a draft, after every check a new post gets (each account against its platform, the time).
#[utoipa::path(post, path = "/api/v1/posts/{id}/publish", tag = "posts", params(("id" = String, Path)),
    request_body = PublishDraftRequest,
    responses((status = 200, body = PostView), (status = 409, body = crate::Problem), (status = 422, body = crate::Problem)))]
pub async fn publish(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PublishDraftRequest>,
) -> Result<Json<PostView>, AppError> {
    Ok(post_view(
        state
            .core
            .publish_draft(&caller, parse_uuid("id", &id)?, body.publish_at)
            .await?,
    ))
}

/// A new draft with the post's text, link, media and accounts.
#[utoipa::path(post, path = "/api/v1/posts/{id}/duplicate", tag = "posts", params(("id" = String, Path)),
    responses((status = 201, body = PostView), (status = 404, body = crate::Problem)))]
pub async fn duplicate(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<PostView>), AppError> {
    let copy = state
        .core
        .duplicate_post(&caller, parse_uuid("id", &id)?)
        .await?;
    Ok((StatusCode::CREATED, Json(copy.into())))
}

/// Cancels what is still scheduled of a post (a draft is deleted).
#[utoipa::path(delete, path = "/api/v1/posts/{id}", tag = "posts", params(("id" = String, Path)),
    responses((status = 200, body = PostView), (status = 404, body = crate::Problem)))]
pub async fn cancel(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<PostView>, AppError> {
    Ok(post_view(
        state
            .core
            .cancel_post(&caller, parse_uuid("id", &id)?)
            .await?,
    ))
}

/// Retries a failed target now.
#[utoipa::path(post, path = "/api/v1/posts/{id}/targets/{target}/retry", tag = "posts",
    params(("id" = String, Path), ("target" = String, Path)),
    responses((status = 200, body = PostView), (status = 409, body = crate::Problem)))]
pub async fn retry(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    TargetPath(at): TargetPath,
) -> Result<Json<PostView>, AppError> {
    Ok(post_view(state.core.retry_target(&caller, at).await?))
}

/// Tries a published target's first comment again, without posting again.
#[utoipa::path(post, path = "/api/v1/posts/{id}/targets/{target}/comment/retry", tag = "posts",
    params(("id" = String, Path), ("target" = String, Path)),
    responses((status = 200, body = PostView), (status = 404, body = crate::Problem), (status = 409, body = crate::Problem)))]
pub async fn retry_comment(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    TargetPath(at): TargetPath,
) -> Result<Json<PostView>, AppError> {
    Ok(post_view(state.core.retry_comment(&caller, at).await?))
}

/// Continues a published target's thread from the part where it stopped, without repeating a part.
#[utoipa::path(post, path = "/api/v1/posts/{id}/targets/{target}/thread/continue", tag = "posts",
    params(("id" = String, Path), ("target" = String, Path)),
    responses((status = 200, body = PostView), (status = 404, body = crate::Problem), (status = 409, body = crate::Problem)))]
pub async fn continue_thread(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    TargetPath(at): TargetPath,
) -> Result<Json<PostView>, AppError> {
    Ok(post_view(state.core.continue_thread_of(&caller, at).await?))
}

/// Deletes what a target published, on its platform (X, Facebook Pages and LinkedIn let apps do so);
/// the target stays published in the history with `deleted_at`.
#[utoipa::path(delete, path = "/api/v1/posts/{id}/targets/{target}", tag = "posts",
    params(("id" = String, Path), ("target" = String, Path)),
    responses((status = 200, body = PostView), (status = 404, body = crate::Problem), (status = 409, body = crate::Problem)))]
pub async fn delete_published(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    TargetPath(at): TargetPath,
) -> Result<Json<PostView>, AppError> {
    Ok(post_view(state.core.delete_published(&caller, at).await?))
}

/// The scheduled posts that removing this account would cancel.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/removal-impact", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = RemovalImpactView), (status = 404, body = crate::Problem)))]
pub async fn removal_impact(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<RemovalImpactView>, AppError> {
    let account: AccountId = id
        .parse()
        .map_err(|_| AppError::bad_request("id", format!("{id:?} is not an account id")))?;
    let posts = state.core.removal_impact(&caller, account).await?;
    Ok(Json(posts.into()))
}

/// Uploads an image or video (the raw file as the body, with its `Content-Type`; up to 50 MiB) and answers
/// the URL to give as a post's media. The platforms fetch it from there, so `public_url` must reach them.
#[utoipa::path(post, path = "/api/v1/media", tag = "posts",
    request_body(description = "The file itself", content(
        (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/gif"), (Vec<u8> = "image/webp"),
        (Vec<u8> = "video/mp4"), (Vec<u8> = "video/quicktime"))),
    responses((status = 201, body = iquivity_core::media::UploadedMedia), (status = 413, body = crate::Problem), (status = 422, body = crate::Problem)))]
pub async fn upload_media(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<iquivity_core::media::UploadedMedia>), AppError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let uploaded = state
        .core
        .upload_media(&caller, content_type, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(uploaded)))
}

/// `GET /media/{file}`: an uploaded file, for the platforms to fetch.
pub async fn media(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let (bytes, content_type) = state
        .core
        .media(&file)
        .await?
        .ok_or_else(|| AppError::not_found("media"))?;
    Ok(([(axum::http::header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// An account's posting times, in its own time zone.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueView {
    /// An IANA name, such as `Europe/Berlin`.
    time_zone: String,
    slots: Vec<QueueSlotView>,
}

/// Some days of the week at one time of day.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSlotView {
    /// `mon` … `sun`.
    days: Vec<String>,
    /// `HH:MM`, 24 hours.
    time: String,
}

impl From<QueueRecord> for QueueView {
    fn from(q: QueueRecord) -> Self {
        QueueView {
            time_zone: q.time_zone,
            slots: q
                .slots
                .into_iter()
                .map(|s| QueueSlotView {
                    days: s.days,
                    time: s.time,
                })
                .collect(),
        }
    }
}

/// An account's own posting times; `null` when it has none (it then takes its client's, if any).
#[utoipa::path(get, path = "/api/v1/accounts/{id}/queue", tag = "posts", params(("id" = String, Path)),
    responses((status = 200, body = Option<QueueView>), (status = 404, body = crate::Problem)))]
pub async fn get_queue(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Option<QueueView>>, AppError> {
    let owner = QueueOwner::Account(super::accounts::parse_id(&id)?);
    Ok(Json(
        state.core.queue(&caller, owner).await?.map(QueueView::from),
    ))
}

/// Sets an account's posting times ("Add to queue" schedules at the next free one). Owners and admins.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/queue", tag = "posts", params(("id" = String, Path)),
    request_body = QueueView,
    responses((status = 200, body = QueueView), (status = 404, body = crate::Problem), (status = 422, body = crate::Problem)))]
pub async fn set_queue(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<QueueView>,
) -> Result<Json<QueueView>, AppError> {
    let owner = QueueOwner::Account(super::accounts::parse_id(&id)?);
    set_queue_of(&state, &caller, owner, body).await
}

/// A client's posting times, which each of its accounts without times of its own takes; `null` when it
/// has none.
#[utoipa::path(get, path = "/api/v1/clients/{id}/queue", tag = "posts", params(("id" = String, Path)),
    responses((status = 200, body = Option<QueueView>), (status = 404, body = crate::Problem)))]
pub async fn get_client_queue(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Option<QueueView>>, AppError> {
    let owner = QueueOwner::Client(super::clients::parse_client_id(&id)?);
    Ok(Json(
        state.core.queue(&caller, owner).await?.map(QueueView::from),
    ))
}

/// Sets a client's posting times: "Add to queue" uses them for each of its accounts that has none of its
/// own. Owners and admins.
#[utoipa::path(put, path = "/api/v1/clients/{id}/queue", tag = "posts", params(("id" = String, Path)),
    request_body = QueueView,
    responses((status = 200, body = QueueView), (status = 404, body = crate::Problem), (status = 422, body = crate::Problem)))]
pub async fn set_client_queue(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<QueueView>,
) -> Result<Json<QueueView>, AppError> {
    let owner = QueueOwner::Client(super::clients::parse_client_id(&id)?);
    set_queue_of(&state, &caller, owner, body).await
}

async fn set_queue_of(
    state: &AppState,
    caller: &iquivity_core::Caller,
    owner: QueueOwner,
    body: QueueView,
) -> Result<Json<QueueView>, AppError> {
    let spec = QueueSpec {
        time_zone: body.time_zone,
        slots: body
            .slots
            .into_iter()
            .map(|s| QueueSlot {
                days: s.days,
                time: s.time,
            })
            .collect(),
    };
    let queue = state.core.set_queue(caller, owner, spec).await?;
    Ok(Json(queue.into()))
}
