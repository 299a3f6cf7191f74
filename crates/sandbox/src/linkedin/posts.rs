//! Posts as LinkedIn's Posts API takes them: creating one (text, an article, images or a video, as a
//! member or an organisation), deleting it, commenting under it and listing an author's posts.

use super::{
    access_denied, authenticate, error, illegal_argument, missing_field, organizations,
    require_version, videos,
};
use crate::request::Params;
use crate::state::{Caller, Server};
use crate::Reject;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) async fn create_post(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Response, Reject> {
    require_version(&params)?;
    let caller = authenticate(&srv, &params)?;
    if let Some(message) = &params.body_error {
        return Err(illegal_argument(message));
    }
    let body = params
        .json
        .as_ref()
        .ok_or_else(|| illegal_argument("The body must be a JSON post"))?;
    for field in [
        "author",
        "commentary",
        "visibility",
        "distribution",
        "lifecycleState",
    ] {
        if body.get(field).is_none_or(Value::is_null) {
            return Err(missing_field(field));
        }
    }
    let author = body["author"].as_str().unwrap_or_default();
    let scope = if author.starts_with("urn:li:person:") {
        "w_member_social"
    } else if author.starts_with("urn:li:organization:") {
        "w_organization_social"
    } else {
        return Err(illegal_argument(&format!(
            "{author} is not a person or organization URN"
        )));
    };
    if !caller.has(scope) {
        return Err(access_denied(&format!(
            "partnerApiPostsExternal.CREATE ({scope})"
        )));
    }
    if !may_post_as(&caller, author) {
        return Err(access_denied(&format!("posting as {author}")));
    }
    let text = body["commentary"].as_str().unwrap_or_default().to_string();
    let mut world = srv.world();
    let video = body
        .pointer("/content/media/id")
        .and_then(Value::as_str)
        .filter(|id| videos::VideoState::is_video(id))
        .map(str::to_string);
    let images = match &video {
        Some(urn) => {
            if let Some(why) = world.linkedin_videos.refusal(author, urn) {
                return Err(illegal_argument(&why));
            }
            Vec::new()
        }
        None => world
            .linkedin_images
            .images_of(author, &body["content"])
            .map_err(|why: String| illegal_argument(&why))?,
    };
    let urn = format!(
        "urn:li:share:{}",
        7_000_000_000_000_000_000u64 + world.next_serial()
    );
    world.add_post(urn.clone(), author.to_string(), text);
    world.linkedin_images.post(&images, &urn);
    if let Some(video) = &video {
        world.linkedin_videos.post(video, &urn);
    }
    tracing::debug!(platform = %srv.platform, %author, post = %urn, "post created");
    Ok((StatusCode::CREATED, [("x-restli-id", urn)]).into_response())
}

/// `DELETE /rest/posts/{urn}` (URL-encoded): by whoever may post as its author; 204.
pub(super) async fn delete_post(
    State(srv): State<Arc<Server>>,
    Path(urn): Path<String>,
    params: Params,
) -> Result<StatusCode, Reject> {
    require_version(&params)?;
    let caller = authenticate(&srv, &params)?;
    let mut world = srv.world();
    let Some(author) = world
        .posts()
        .iter()
        .find(|p| p.id == urn)
        .map(|p| p.author.clone())
    else {
        return Err(error(
            StatusCode::NOT_FOUND,
            None,
            "NOT_FOUND",
            &format!("{urn} does not exist"),
        ));
    };
    if !may_post_as(&caller, &author) {
        return Err(access_denied(&format!("deleting {urn}")));
    }
    world.remove_post(&urn, &author);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /rest/socialActions/{urn}/comments {actor, object, message: {text}}`: a comment under an existing
/// post, as whoever the member may act as; 201 with the comment's URN in `x-restli-id`.
pub(super) async fn comment(
    State(srv): State<Arc<Server>>,
    Path(urn): Path<String>,
    params: Params,
) -> Result<Response, Reject> {
    require_version(&params)?;
    let caller = authenticate(&srv, &params)?;
    let body = params
        .json
        .as_ref()
        .ok_or_else(|| illegal_argument("The body must be a JSON comment"))?;
    let actor = body["actor"].as_str().unwrap_or_default();
    let text = body
        .pointer("/message/text")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| missing_field("message.text"))?;
    if body["object"].as_str() != Some(urn.as_str()) {
        return Err(illegal_argument("object must be the post commented on"));
    }
    if !may_post_as(&caller, actor) {
        return Err(access_denied(&format!("commenting as {actor}")));
    }
    let mut world = srv.world();
    if world.refuse_comments {
        return Err(access_denied("comments on this post"));
    }
    if !world.posts().iter().any(|p| p.id == urn) {
        return Err(error(
            StatusCode::NOT_FOUND,
            None,
            "NOT_FOUND",
            &format!("{urn} does not exist"),
        ));
    }
    let id = world.add_comment(&urn, actor, text);
    let comment = format!("urn:li:comment:({urn},{id})");
    Ok((StatusCode::CREATED, [("x-restli-id", comment)]).into_response())
}

/// Whether the member may post (and upload images) as `author`: themselves with w_member_social, or an
/// organisation they administer with w_organization_social.
pub(crate) fn may_post_as(caller: &Caller, author: &str) -> bool {
    if let Some(person) = author.strip_prefix("urn:li:person:") {
        caller.has("w_member_social") && person == caller.user_id
    } else if let Some(org) = author.strip_prefix("urn:li:organization:") {
        caller.has("w_organization_social")
            && organizations(&caller.user_name).iter().any(|o| {
                o.id.to_string() == org
                    && matches!(o.role, "ADMINISTRATOR" | "CONTENT_ADMINISTRATOR")
            })
    } else {
        false
    }
}

/// `GET /rest/posts?q=author&author={urn}` (docs/platforms/linkedin.md §5.9): an organisation's posts, newest
/// first, for a member who administers it, with r_organization_social. A member's own posts need
/// r_member_social, which the sandbox, like LinkedIn for most apps, never grants.
pub(super) async fn posts_by_author(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    require_version(&params)?;
    let caller = authenticate(&srv, &params)?;
    if params.query("q") != Some("author") {
        return Err(illegal_argument("q must be author"));
    }
    let author = params
        .query("author")
        .ok_or_else(|| missing_field("author"))?;
    let Some(org) = author.strip_prefix("urn:li:organization:") else {
        return Err(access_denied(
            "partnerApiPostsExternal.FINDER-author (r_member_social)",
        ));
    };
    if !caller.has("r_organization_social") {
        return Err(access_denied(
            "partnerApiPostsExternal.FINDER-author (r_organization_social)",
        ));
    }
    if !organizations(&caller.user_name)
        .iter()
        .any(|o| o.id.to_string() == org)
    {
        return Err(access_denied(&format!("reading the posts of {author}")));
    }
    let count = params
        .query("count")
        .map_or(Ok(10), str::parse::<usize>)
        .map_err(|_| illegal_argument("count must be a number"))?;
    let world = srv.world();
    let elements: Vec<Value> = world
        .posts()
        .iter()
        .rev()
        .filter(|p| p.author == author)
        .take(count)
        .map(|p| {
            json!({
                "id": p.id,
                "author": p.author,
                "commentary": p.text,
                "createdAt": p.at.timestamp_millis(),
                "lifecycleState": "PUBLISHED",
            })
        })
        .collect();
    Ok(Json(
        json!({ "elements": elements, "paging": { "count": count, "start": 0 } }),
    ))
}
