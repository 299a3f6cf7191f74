//! Reading: the user and any object by id, the Pages a person manages (with Page tokens), and the Pages
//! of their business portfolio.

// The Graph helpers, shared state and imports of `meta`.
use super::*;

/// A Page as `/me/accounts` lists it, with a Page token when the fields ask for one.
fn page_entry(
    srv: &Server,
    world: &mut World,
    caller: &Caller,
    user_token: &str,
    page: &SeedPage,
    fields: Option<&str>,
) -> Value {
    let mut entry = object(json!({
        "id": page.id,
        "name": page.name,
        "username": page.username,
        "category": "Brand",
        "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"],
        "picture": picture(srv, &page.id),
    }));
    if let Some(ig) = &page.instagram {
        entry.insert("instagram_business_account".into(), json!({ "id": ig.id }));
    }
    if wants(fields, "access_token") {
        entry.insert(
            "access_token".into(),
            json!(page_token(world, caller, user_token, &page.id)),
        );
    }
    select(entry, fields)
}

/// The Page token for `page_id` derived from the caller's user token: without expiry when that token is
/// long-lived, expiring with it otherwise (docs/platforms/facebook.md §2.2).
fn page_token(world: &mut World, caller: &Caller, user_token: &str, page_id: &str) -> String {
    let key = (user_token.to_string(), page_id.to_string());
    if let Some(token) = world.meta.page_tokens.get(&key) {
        return token.clone();
    }
    let expires_at = match caller.kind {
        TokenKind::LongLived => None,
        _ => caller.expires_at,
    };
    let token = world.issue_until(
        caller.grant,
        TokenKind::Page(page_id.to_string()),
        "EAA",
        expires_at,
    );
    world.meta.page_tokens.insert(key, token.clone());
    token
}

pub(super) async fn node(Node(srv, id, params): Node) -> Graph {
    let (caller, token) = authenticate(&srv, &params)?;
    let fields = params.get("fields");
    let fields = fields.as_deref();
    let seed = seed(&caller.user_name);
    let own_page = match &caller.kind {
        TokenKind::Page(page_id) if id == "me" => Some(page_id.clone()),
        _ => None,
    };
    if own_page.is_none() && (id == "me" || id == caller.user_id) {
        let user = object(json!({
            "id": caller.user_id,
            "name": caller.user_name,
            "picture": picture(&srv, &caller.user_id),
        }));
        return Ok(Json(select(user, fields)));
    }
    let id = own_page.unwrap_or(id);
    if let Some(page) = seed.pages.iter().find(|p| p.id == id) {
        if !may_use_page(&caller, &page.id) {
            return Err(GraphError::unsupported("get", &id));
        }
        let mut entry = object(json!({
            "id": page.id,
            "name": page.name,
            "username": page.username,
            "picture": picture(&srv, &page.id),
            "followers_count": crate::ids::followers(&page.id),
        }));
        if let Some(ig) = &page.instagram {
            entry.insert("instagram_business_account".into(), json!({ "id": ig.id }));
        }
        // A person with a role on the Page reads its token from the Page itself, as from /me/accounts
        // (how a Page token is renewed); only when asked for by name, as Graph leaves it out otherwise.
        let asked = fields.is_some_and(|f| requested_fields(f).iter().any(|w| w == "access_token"));
        if asked && !matches!(caller.kind, TokenKind::Page(_)) {
            let page_token = page_token(&mut srv.world(), &caller, &token, &page.id);
            entry.insert("access_token".into(), json!(page_token));
        }
        return Ok(Json(select(entry, fields)));
    }
    if let Some((page, ig)) = instagram_account(&seed, &id) {
        if !may_use_page(&caller, &page.id) {
            return Err(GraphError::unsupported("get", &id));
        }
        require(&caller, "instagram_basic")?;
        let entry = object(json!({
            "id": ig.id,
            "username": ig.username,
            "name": ig.name,
            "profile_picture_url": avatar_url(&srv, &ig.id),
            "followers_count": crate::ids::followers(&ig.id),
        }));
        return Ok(Json(select(entry, fields)));
    }
    if id == seed.business_id && !matches!(caller.kind, TokenKind::Page(_)) {
        require(&caller, "business_management")?;
        let entry = object(json!({ "id": seed.business_id, "name": seed.business_name }));
        return Ok(Json(select(entry, fields)));
    }
    let mut world = srv.world();
    if let Some(container) = world
        .meta
        .containers
        .get_mut(&id)
        .filter(|c| c.owner == caller.user_id)
    {
        container.polls += 1;
        let status_code = container.status_code();
        let status = match status_code {
            "PUBLISHED" => "Published: Media has been published",
            "FINISHED" => "Finished: Media container created",
            "ERROR" => {
                "Error: Media download has failed. The media URI doesn't meet our requirements."
            }
            _ => "In Progress: Media is still being processed",
        };
        let entry = object(json!({ "id": id, "status_code": status_code, "status": status }));
        return Ok(Json(select(entry, fields)));
    }
    if let Some(media) = world
        .meta
        .media
        .get(&id)
        .filter(|m| m.owner == caller.user_id)
    {
        let entry = object(json!({
            "id": id,
            "permalink": media.permalink,
            "caption": media.caption,
            "owner": { "id": media.instagram_id },
            "timestamp": media.published_at.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        }));
        return Ok(Json(select(entry, fields)));
    }
    Err(GraphError::unsupported("get", &id))
}

pub(super) fn instagram_account<'a>(
    seed: &'a Seed,
    id: &str,
) -> Option<(&'a SeedPage, &'a SeedInstagram)> {
    seed.pages.iter().find_map(|page| {
        page.instagram
            .as_ref()
            .filter(|ig| ig.id == id)
            .map(|ig| (page, ig))
    })
}

pub(super) async fn accounts(Node(srv, id, params): Node) -> Graph {
    let (caller, token) = person(&srv, &params, &id, "accounts")?;
    require(&caller, "pages_show_list")?;
    let fields = params.get("fields");
    let seed = seed(&caller.user_name);
    let mut world = srv.world();
    paged(&srv, &params, &seed.pages, |p| {
        page_entry(&srv, &mut world, &caller, &token, p, fields.as_deref())
    })
}

pub(super) async fn businesses(Node(srv, id, params): Node) -> Graph {
    let (caller, _) = person(&srv, &params, &id, "businesses")?;
    require(&caller, "business_management")?;
    let seed = seed(&caller.user_name);
    let item = object(json!({ "id": seed.business_id, "name": seed.business_name }));
    let fields = params.get("fields");
    paged(&srv, &params, &[item], |item| {
        select(item.clone(), fields.as_deref())
    })
}

pub(super) async fn owned_pages(Node(srv, id, params): Node) -> Graph {
    business_pages(&srv, &id, &params, true)
}

pub(super) async fn client_pages(Node(srv, id, params): Node) -> Graph {
    business_pages(&srv, &id, &params, false)
}

/// The business's own Pages (`owned`) or the clients' Pages it manages (none in the sandbox's data).
fn business_pages(srv: &Server, id: &str, params: &Params, owned: bool) -> Graph {
    let (caller, token) = authenticate(srv, params)?;
    let seed = seed(&caller.user_name);
    if id != seed.business_id || matches!(caller.kind, TokenKind::Page(_)) {
        return Err(GraphError::unsupported("get", id));
    }
    require(&caller, "business_management")?;
    let fields = params.get("fields");
    let pages: Vec<&SeedPage> = seed
        .pages
        .iter()
        .filter(|p| owned && p.via_business)
        .collect();
    let mut world = srv.world();
    paged(srv, params, &pages, |p| {
        page_entry(srv, &mut world, &caller, &token, p, fields.as_deref())
    })
}
