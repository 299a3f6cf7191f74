//! The JSON of the answers built from stored records: exactly these fields, in this order, with enums as
//! strings and absent values as `null`. Clients rely on the shape, so it may only change on purpose.

use crate::helpers::*;
use crate::lifecycle::Rig;
use chrono::Duration;
use iquivity_domain::Platform;
use reqwest::{Method, StatusCode};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Value};

/// A JSON document that keeps each object's keys in the order they were sent (`serde_json::Value` sorts
/// them), with the scalars it holds.
#[derive(Debug)]
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Scalar(Value),
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(v.into()))
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered::Object(entries))
            }
        }
        d.deserialize_any(Any)
    }
}

impl Ordered {
    fn keys(&self) -> Vec<&str> {
        match self {
            Ordered::Object(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            other => panic!("not an object: {other:?}"),
        }
    }

    fn get(&self, key: &str) -> &Ordered {
        match self {
            Ordered::Object(entries) => &entries.iter().find(|(k, _)| k == key).unwrap().1,
            other => panic!("not an object: {other:?}"),
        }
    }

    fn at(&self, index: usize) -> &Ordered {
        match self {
            Ordered::Array(items) => &items[index],
            other => panic!("not an array: {other:?}"),
        }
    }

    fn scalar(&self) -> &Value {
        match self {
            Ordered::Scalar(v) => v,
            other => panic!("not a scalar: {other:?}"),
        }
    }
}

async fn fetch(
    app: &TestApp,
    user: &User,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Ordered {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(&user.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

const POST: [&str; 15] = [
    "id",
    "workspace_id",
    "author_id",
    "text",
    "link",
    "media",
    "privacy_level",
    "publish_at",
    "created_at",
    "targets",
    "status",
    "draft_accounts",
    "variants",
    "first_comment",
    "thread",
];
const TARGET: [&str; 16] = [
    "id",
    "post_id",
    "account_id",
    "platform",
    "state",
    "attempts",
    "platform_post_id",
    "url",
    "error_class",
    "error_message",
    "published_at",
    "sending_at",
    "run_at",
    "deleted_at",
    "comment",
    "thread",
];

#[tokio::test]
async fn answers_built_from_records_keep_their_fields_order_and_strings() {
    // A webhook to a port nobody listens on: its delivery fails, so the log shows a failure class.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (app, clock) = spawn_app_hooked_to(closed_port).await;
    let user = app.sign_up("views@example.com", "Views").await;
    let rig = Rig { app, clock, user };
    let (status, webhook) = rig
        .app
        .post(
            &rig.user,
            "/api/v1/webhooks",
            json!({"url": format!("http://127.0.0.1:{closed_port}/hook")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");

    // A connection still waiting for consent.
    let started = fetch(
        &rig.app,
        &rig.user,
        Method::POST,
        "/api/v1/connections",
        Some(json!({"platform": "x"})),
    )
    .await;
    let id = started.get("id").scalar().as_str().unwrap().to_string();
    let connection = fetch(
        &rig.app,
        &rig.user,
        Method::GET,
        &format!("/api/v1/connections/{id}"),
        None,
    )
    .await;
    assert_eq!(
        connection.keys(),
        [
            "id",
            "platform",
            "stage",
            "error",
            "candidates",
            "connected",
            "expires_at"
        ]
    );
    assert_eq!(connection.get("stage").scalar(), "authorizing");
    assert_eq!(connection.get("error").scalar(), &Value::Null);

    let account = rig.connect(Platform::Tiktok, "Vera Views").await;
    let publish_at = (rig.clock_now() + Duration::hours(2)).to_rfc3339();
    let post = fetch(
        &rig.app,
        &rig.user,
        Method::POST,
        "/api/v1/posts",
        Some(json!({"text": "Shape", "media": [{"url": "https://cdn.example.com/a.mp4", "kind": "video"}],
            "accounts": [account], "publish_at": publish_at})),
    )
    .await;
    assert_eq!(post.keys(), POST);
    assert_eq!(post.get("link").scalar(), &Value::Null);
    assert_eq!(post.get("media").at(0).keys(), ["url", "kind"]);
    assert_eq!(post.get("media").at(0).get("kind").scalar(), "video");
    let target = post.get("targets").at(0);
    assert_eq!(target.keys(), TARGET);
    assert_eq!(target.get("state").scalar(), "scheduled");
    assert_eq!(target.get("platform").scalar(), "tiktok");
    assert_eq!(target.get("attempts").scalar(), 0);
    assert_eq!(target.get("sending_at").scalar(), &Value::Null);
    let post_id = post.get("id").scalar().as_str().unwrap().to_string();
    for listed in [
        fetch(&rig.app, &rig.user, Method::GET, "/api/v1/posts", None)
            .await
            .at(0)
            .keys(),
        fetch(
            &rig.app,
            &rig.user,
            Method::GET,
            &format!("/api/v1/posts/{post_id}"),
            None,
        )
        .await
        .keys(),
    ] {
        assert_eq!(listed, POST);
    }

    let impact = fetch(
        &rig.app,
        &rig.user,
        Method::GET,
        &format!("/api/v1/accounts/{account}/removal-impact"),
        None,
    )
    .await;
    assert_eq!(impact.keys(), ["scheduled", "posts"]);
    assert_eq!(impact.get("scheduled").scalar(), 1);
    assert_eq!(impact.get("posts").at(0).keys(), POST);
    assert_eq!(
        impact.get("posts").at(0).get("targets").at(0).keys(),
        TARGET
    );

    let cancelled = fetch(
        &rig.app,
        &rig.user,
        Method::DELETE,
        &format!("/api/v1/posts/{post_id}"),
        None,
    )
    .await;
    assert_eq!(
        cancelled.get("targets").at(0).get("state").scalar(),
        "cancelled"
    );

    let events = [
        fetch(
            &rig.app,
            &rig.user,
            Method::GET,
            &format!("/api/v1/accounts/{account}/events"),
            None,
        )
        .await,
        fetch(&rig.app, &rig.user, Method::GET, "/api/v1/activity", None).await,
    ];
    for events in &events {
        let event = events.at(0);
        assert_eq!(
            event.keys(),
            [
                "id",
                "workspace_id",
                "account_id",
                "actor_id",
                "kind",
                "details",
                "at"
            ]
        );
        assert_eq!(event.get("kind").scalar(), "connected");
    }

    let notifications = fetch(
        &rig.app,
        &rig.user,
        Method::GET,
        "/api/v1/notifications",
        None,
    )
    .await;
    assert_eq!(notifications.keys(), ["unread", "items"]);
    assert_eq!(notifications.get("unread").scalar(), 1);
    let alert = notifications.get("items").at(0);
    assert_eq!(
        alert.keys(),
        [
            "id",
            "workspace_id",
            "account_id",
            "kind",
            "payload",
            "created_at",
            "read_at"
        ]
    );
    assert_eq!(alert.get("kind").scalar(), "account.connected");
    assert_eq!(alert.get("read_at").scalar(), &Value::Null);

    rig.round().await;
    let webhook_id = webhook["id"].as_str().unwrap();
    let log = fetch(
        &rig.app,
        &rig.user,
        Method::GET,
        &format!("/api/v1/webhooks/{webhook_id}/deliveries"),
        None,
    )
    .await;
    let delivery = log.at(0);
    assert_eq!(
        delivery.keys(),
        [
            "id",
            "webhook_id",
            "alert_id",
            "state",
            "attempts",
            "next_attempt_at",
            "last_status",
            "failure_class",
            "created_at",
            "delivered_at"
        ]
    );
    assert_eq!(delivery.get("state").scalar(), "pending");
    assert_eq!(delivery.get("failure_class").scalar(), "connection_failed");
    assert_eq!(delivery.get("last_status").scalar(), &Value::Null);
}
