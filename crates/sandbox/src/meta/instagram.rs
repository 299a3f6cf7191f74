//! Instagram publishing: media containers, their processing, `media_publish` and the 24-hour quota.

// The Graph helpers, shared state and imports of `meta`.
use super::*;
use pages::instagram_account;

/// Instagram's cap on API-published posts per moving 24 hours (docs/platforms/instagram.md §3.4).
const IG_QUOTA: usize = 50;
const IG_QUOTA_WINDOW: TimeDelta = TimeDelta::hours(24);

/// What a request does with an Instagram account: the verb Graph's refusal names, and the permission it
/// needs.
pub(super) struct AccountUse {
    verb: &'static str,
    permission: &'static str,
}

const READ: AccountUse = AccountUse {
    verb: "get",
    permission: "instagram_basic",
};
const PUBLISH: AccountUse = AccountUse {
    verb: "post",
    permission: "instagram_content_publish",
};
pub(super) const COMMENT: AccountUse = AccountUse {
    verb: "post",
    permission: "instagram_manage_comments",
};

/// The caller who may use this Instagram account's Page for `what`.
pub(super) fn instagram_caller(
    srv: &Server,
    params: &Params,
    instagram_id: &str,
    what: AccountUse,
) -> Result<Caller, GraphError> {
    let (caller, _) = authenticate(srv, params)?;
    let seed = seed(&caller.user_name);
    match instagram_account(&seed, instagram_id) {
        Some((page, _)) if may_use_page(&caller, &page.id) => {}
        _ => return Err(GraphError::unsupported(what.verb, instagram_id)),
    }
    require(&caller, what.permission)?;
    Ok(caller)
}

/// `GET /{ig-user-id}/media` (docs/platforms/instagram.md §3.5): the account's published media, newest
/// first, with `instagram_basic`.
pub(super) async fn list_media(Node(srv, instagram_id, params): Node) -> Graph {
    instagram_caller(&srv, &params, &instagram_id, READ)?;
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25);
    let world = srv.world();
    let mut media: Vec<(&String, &Media)> = world
        .meta
        .media
        .iter()
        .filter(|(_, m)| m.instagram_id == instagram_id)
        .collect();
    media.sort_by(|a, b| b.1.published_at.cmp(&a.1.published_at).then(b.0.cmp(a.0)));
    let data: Vec<Value> = media
        .into_iter()
        .take(limit)
        .map(|(id, m)| {
            json!({
                "id": id,
                "caption": m.caption,
                "timestamp": graph_time(m.published_at),
                "permalink": m.permalink,
            })
        })
        .collect();
    Ok(Json(json!({ "data": data })))
}

pub(super) async fn create_container(Node(srv, instagram_id, params): Node) -> Graph {
    if let Some(error) = &params.body_error {
        return Err(GraphError::param(error.clone()));
    }
    let caller = instagram_caller(&srv, &params, &instagram_id, PUBLISH)?;
    let media_type = params.get("media_type").unwrap_or_default();
    let mut world = srv.world();
    if media_type == "CAROUSEL" {
        let children = params.get("children").unwrap_or_default();
        let children: Vec<&str> = children.split(',').filter(|c| !c.is_empty()).collect();
        if children.len() < 2 {
            return Err(GraphError::param("A carousel needs at least 2 children"));
        }
        let valid = children.iter().all(|child| {
            world
                .meta
                .containers
                .get(*child)
                .is_some_and(|c| c.carousel_item && c.instagram_id == instagram_id)
        });
        if !valid {
            return Err(GraphError::param(
                "Param children must be containers created with is_carousel_item=true",
            ));
        }
    } else if params.get("image_url").is_none() && params.get("video_url").is_none() {
        return Err(GraphError::param("The parameter image_url is required."));
    }
    let failed = ["image_url", "video_url"]
        .iter()
        .filter_map(|name| params.get(name))
        .any(|url| crate::unfetchable(&url));
    let stalled = ["image_url", "video_url"]
        .iter()
        .filter_map(|name| params.get(name))
        .any(|url| crate::stalls(&url));
    let id = format!("1790{:014}", world.next_serial());
    world.meta.containers.insert(
        id.clone(),
        Container {
            owner: caller.user_id,
            instagram_id,
            caption: params.get("caption").unwrap_or_default(),
            carousel_item: flag(&params, "is_carousel_item", false),
            polls: 0,
            published: false,
            failed,
            stalled,
        },
    );
    Ok(Json(json!({ "id": id })))
}

pub(super) async fn media_publish(Node(srv, instagram_id, params): Node) -> Graph {
    let caller = instagram_caller(&srv, &params, &instagram_id, PUBLISH)?;
    let creation_id = params
        .get("creation_id")
        .ok_or_else(|| GraphError::param("The parameter creation_id is required."))?;
    let now = Utc::now();
    let mut world = srv.world();
    let used = recent_posts(&world, &instagram_id, now);
    let state = &mut world.meta;
    let container = state
        .containers
        .get_mut(&creation_id)
        .filter(|c| c.owner == caller.user_id && c.instagram_id == instagram_id)
        .ok_or_else(|| GraphError::param("Param creation_id must be a valid container id"))?;
    if container.published {
        return Err(GraphError::bad(
            9007,
            "The media container has already been published",
        ));
    }
    if !container.ready() || container.failed {
        return Err(GraphError::bad(9007, "Media ID is not available").subcode(2207027));
    }
    if used >= IG_QUOTA {
        return Err(GraphError::bad(9, "Application request limit reached").subcode(2207042));
    }
    container.published = true;
    let caption = container.caption.clone();
    let serial = world.next_serial();
    let media_id = format!("1791{serial:014}");
    let permalink = format!(
        "https://www.instagram.com/p/{}/",
        ids::stable_alnum("instagram-shortcode", &media_id, 11)
    );
    world.meta.media.insert(
        media_id.clone(),
        Media {
            owner: caller.user_id,
            instagram_id: instagram_id.clone(),
            caption: caption.clone(),
            permalink,
            published_at: now,
        },
    );
    world.add_post(media_id.clone(), instagram_id, caption);
    tracing::debug!(platform = %srv.platform, media = %media_id, "instagram media published");
    Ok(Json(json!({ "id": media_id })))
}

fn recent_posts(world: &World, instagram_id: &str, now: DateTime<Utc>) -> usize {
    world
        .meta
        .media
        .values()
        .filter(|m| m.instagram_id == instagram_id && now - m.published_at < IG_QUOTA_WINDOW)
        .count()
}

pub(super) async fn publishing_limit(Node(srv, instagram_id, params): Node) -> Graph {
    let (caller, _) = authenticate(&srv, &params)?;
    let seed = seed(&caller.user_name);
    match instagram_account(&seed, &instagram_id) {
        Some((page, _)) if may_use_page(&caller, &page.id) => {}
        _ => return Err(GraphError::unsupported("get", &instagram_id)),
    }
    require(&caller, "instagram_basic")?;
    let used = recent_posts(&srv.world(), &instagram_id, Utc::now());
    Ok(Json(json!({
        "data": [{
            "quota_usage": used,
            "config": { "quota_total": IG_QUOTA, "quota_duration": IG_QUOTA_WINDOW.num_seconds() },
        }]
    })))
}
