//! Facebook Page publishing: text and link posts, photos and videos, each with the Page's token.

// The Graph helpers, shared state and imports of `meta`.
use super::instagram::{instagram_caller, COMMENT};
use super::*;

/// Page publishing takes a body that could be read, and that Page's token (docs/platforms/facebook.md §2.6)
/// with `pages_manage_posts`.
fn page_publisher(srv: &Server, params: &Params, page_id: &str) -> Result<Caller, GraphError> {
    if let Some(error) = &params.body_error {
        return Err(GraphError::param(error.clone()));
    }
    page_caller(srv, params, page_id, "post", "pages_manage_posts")
}

/// The caller holding that Page's own token, with `permission`; `verb` names the request in Graph's refusal.
fn page_caller(
    srv: &Server,
    params: &Params,
    page_id: &str,
    verb: &str,
    permission: &str,
) -> Result<Caller, GraphError> {
    let (caller, _) = authenticate(srv, params)?;
    let seed = seed(&caller.user_name);
    if !seed.pages.iter().any(|p| p.id == page_id) {
        return Err(GraphError::unsupported(verb, page_id));
    }
    match &caller.kind {
        TokenKind::Page(own) if own == page_id => {}
        TokenKind::Page(_) => return Err(GraphError::unsupported(verb, page_id)),
        _ => {
            return Err(GraphError::new(
                StatusCode::FORBIDDEN,
                200,
                "(#200) If posting to a page, requires a Page access token for that page (from /me/accounts)",
            ))
        }
    }
    require(&caller, permission)?;
    Ok(caller)
}

/// A photo or video for the Page: what [`page_publisher`] asks, and the media by URL in `param` (the sandbox
/// takes no uploads).
fn page_media(
    srv: &Server,
    params: &Params,
    page_id: &str,
    param: &str,
    what: &str,
) -> Result<(), GraphError> {
    page_publisher(srv, params, page_id)?;
    match params.get(param) {
        Some(_) => Ok(()),
        None => Err(GraphError::param(format!(
            "Param {param} is required (the sandbox takes {what} by URL)"
        ))),
    }
}

pub(super) async fn feed(Node(srv, page_id, params): Node) -> Graph {
    page_publisher(&srv, &params, &page_id)?;
    let message = params.get("message").unwrap_or_default();
    let link = params.get("link");
    let attached = params.get("attached_media");
    if message.is_empty() && link.is_none() && attached.is_none() {
        return Err(GraphError::param("Missing message or attachment"));
    }
    let mut world = srv.world();
    let post = format!("{page_id}_{}", 100_000_000_000 + world.next_serial());
    let text = if message.is_empty() {
        link.unwrap_or_default()
    } else {
        message
    };
    tracing::debug!(platform = %srv.platform, %page_id, post = %post, "page post published");
    world.add_post(post.clone(), page_id.clone(), text);
    let mut answer = json!({ "id": post });
    if params
        .get("fields")
        .is_some_and(|f| requested_fields(&f).iter().any(|n| n == "permalink_url"))
    {
        let (_, n) = post.split_once('_').unwrap_or_default();
        answer["permalink_url"] = json!(format!("https://www.facebook.com/{page_id}/posts/{n}"));
    }
    Ok(Json(answer))
}

pub(super) async fn photos(Node(srv, page_id, params): Node) -> Graph {
    page_media(&srv, &params, &page_id, "url", "photos")?;
    let mut world = srv.world();
    let photo = format!("{}", 500_000_000_000_000 + world.next_serial());
    let mut answer = json!({ "id": photo });
    if flag(&params, "published", true) {
        let post = format!("{page_id}_{photo}");
        let caption = params
            .get("caption")
            .or_else(|| params.get("message"))
            .unwrap_or_default();
        world.add_post(post.clone(), page_id.clone(), caption);
        answer["post_id"] = json!(post);
    }
    Ok(Json(answer))
}

/// `POST /{page-id}/videos` with `file_url` (docs/platforms/facebook.md §2.6): Graph fetches the file itself
/// and answers the video's id, which is also the post's.
pub(super) async fn videos(Node(srv, page_id, params): Node) -> Graph {
    page_media(&srv, &params, &page_id, "file_url", "videos")?;
    let mut world = srv.world();
    let video = format!("{}", 600_000_000_000_000 + world.next_serial());
    if flag(&params, "published", true) {
        let description = params.get("description").unwrap_or_default();
        world.add_post(video.clone(), page_id.clone(), description);
        tracing::debug!(platform = %srv.platform, %page_id, %video, "page video published");
    }
    Ok(Json(json!({ "id": video })))
}

/// `GET /{page-id}/published_posts` (docs/platforms/facebook.md §2.9): the Page's own posts, newest first,
/// from `since` (Unix seconds) on, with `pages_read_engagement`.
pub(super) async fn published_posts(
    State(srv): State<Arc<Server>>,
    Path((_, page_id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    page_caller(&srv, &params, &page_id, "get", "pages_read_engagement")?;
    let since = match params.get("since") {
        Some(since) => Some(
            since
                .parse::<i64>()
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .ok_or_else(|| GraphError::param("Param since must be a Unix time"))?,
        ),
        None => None,
    };
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25);
    let world = srv.world();
    let data: Vec<Value> = world
        .posts()
        .iter()
        .rev()
        .filter(|p| p.author == page_id && since.is_none_or(|s| p.at >= s))
        .take(limit)
        .map(|p| {
            json!({
                "id": p.id,
                "message": p.text,
                "created_time": graph_time(p.at),
            })
        })
        .collect();
    Ok(Json(json!({ "data": data })))
}

/// `DELETE /{page-post-id}` with the Page's own token: a post of that Page (`{page-id}_{n}` or a
/// photo or video it published); answers `{"success": true}`.
pub(super) async fn delete_post(Node(srv, post, params): Node) -> Graph {
    let page_id = {
        let world = srv.world();
        world
            .posts()
            .iter()
            .find(|p| p.id == post)
            .map(|p| p.author.clone())
    };
    let Some(page_id) = page_id else {
        return Err(GraphError::unsupported("delete", &post));
    };
    page_caller(&srv, &params, &page_id, "delete", "pages_manage_posts")?;
    srv.world().remove_post(&post, &page_id);
    Ok(Json(json!({ "success": true })))
}

/// `POST /{object-id}/comments {message}`: a comment under a Page's post (with that Page's token and
/// `pages_manage_engagement`) or under an Instagram account's media (`instagram_manage_comments`).
pub(super) async fn comment(Node(srv, object, params): Node) -> Graph {
    let message = params
        .get("message")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GraphError::param("(#100) The parameter message is required"))?;
    let (page_post, instagram) = {
        let world = srv.world();
        (
            world
                .posts()
                .iter()
                .find(|p| p.id == object)
                .map(|p| p.author.clone()),
            world.meta.media_owner(&object),
        )
    };
    // Instagram media are posts of their account too: the media's own rule comes first.
    let author = match (instagram, page_post) {
        (Some(instagram_id), _) => {
            instagram_caller(&srv, &params, &instagram_id, COMMENT)?;
            instagram_id
        }
        (None, Some(page_id)) => {
            page_caller(
                &srv,
                &params,
                &page_id,
                "comment",
                "pages_manage_engagement",
            )?;
            page_id
        }
        (None, None) => return Err(GraphError::unsupported("post", &object)),
    };
    let mut world = srv.world();
    if world.refuse_comments {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            200,
            "(#200) Comments on this object are turned off",
        ));
    }
    let id = world.add_comment(&object, &author, &message);
    Ok(Json(json!({ "id": id })))
}
