//! The sandbox's Meta data of each person: their Pages, the business portfolio and the Instagram accounts
//! linked to the Pages, derived from the person's name.

use crate::avatar_url;
use crate::ids::{self, handle};
use crate::state::Server;
use serde_json::{json, Value};

pub(crate) fn user_id(name: &str) -> String {
    ids::stable_digits("meta-user", name, 16)
}

#[derive(Clone, Debug)]
pub(crate) struct SeedPage {
    pub id: String,
    pub name: String,
    pub username: String,
    pub instagram: Option<SeedInstagram>,
    /// Reached through the business portfolio rather than held directly.
    pub via_business: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct SeedInstagram {
    pub id: String,
    pub username: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Seed {
    pub pages: Vec<SeedPage>,
    pub business_id: String,
    pub business_name: String,
}

/// The Pages, business and Instagram accounts of the person named `name`. Ids come from the owner's name
/// and the object's role, so two people never share a Page and reconnecting finds the same ids.
pub(crate) fn seed(name: &str) -> Seed {
    let page_id = |role: &str| ids::stable_digits(&format!("meta-page-{role}"), name, 15);
    // Instagram business account ids start with 1784 on the real platform.
    let ig_id = |role: &str| {
        format!(
            "1784{}",
            ids::stable_digits(&format!("meta-ig-{role}"), name, 13)
        )
    };
    let shop = format!("{name} Shop");
    let studio = format!("{name} Studio");
    Seed {
        pages: vec![
            SeedPage {
                id: page_id("main"),
                name: name.to_string(),
                username: handle(name),
                instagram: Some(SeedInstagram {
                    id: ig_id("main"),
                    username: handle(name),
                    name: name.to_string(),
                }),
                via_business: false,
            },
            SeedPage {
                id: page_id("studio"),
                username: handle(&studio),
                name: studio,
                instagram: None,
                via_business: false,
            },
            SeedPage {
                id: page_id("shop"),
                username: handle(&shop),
                instagram: Some(SeedInstagram {
                    id: ig_id("shop"),
                    username: format!("{}shop", handle(name)),
                    name: shop.clone(),
                }),
                name: shop,
                via_business: true,
            },
        ],
        business_id: ids::stable_digits("meta-business", name, 15),
        business_name: format!("{name} Holdings"),
    }
}

pub(crate) fn seed_json(srv: &Server, name: &str) -> Value {
    let seed = seed(name);
    let page = |p: &SeedPage| {
        json!({
            "id": p.id,
            "name": p.name,
            "username": p.username,
            "instagram_business_account": p.instagram.as_ref().map(|ig| json!({"id": ig.id, "username": ig.username, "name": ig.name})),
            "business": p.via_business.then(|| seed.business_id.clone()),
        })
    };
    json!({
        "id": user_id(name),
        "name": name,
        "pages": seed.pages.iter().map(page).collect::<Vec<_>>(),
        "businesses": [{"id": seed.business_id, "name": seed.business_name}],
        "instagram_accounts": seed.pages.iter().filter_map(|p| p.instagram.as_ref().map(|ig| json!({"id": ig.id, "username": ig.username, "page_id": p.id}))).collect::<Vec<_>>(),
        "avatar_url": avatar_url(srv, &user_id(name)),
    })
}
