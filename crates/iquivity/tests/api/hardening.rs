//! The attacks and faults of the hardening review, each replayed: hostile search text, a hostile time
//! zone on the Posts form, a forged logout, every oversize or wrong-type request, invisible labels,
//! notices taken from the URL, and the database files' modes.

use crate::helpers::*;
use iquivity_domain::Platform;
use rand::{rngs::StdRng, Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Search text of every awkward kind: control characters, FTS5 and trigram syntax, quotes, wildcards,
/// escapes, right-to-left and combining marks, emoji, and characters from every plane.
fn hostile_query(rng: &mut StdRng) -> String {
    const PIECES: &[&str] = &[
        "\0",
        "\u{1}",
        "\n",
        "\t",
        "\u{7f}",
        "\"",
        "'",
        "*",
        "%",
        "_",
        "\\",
        "^",
        ":",
        "-",
        "(",
        ")",
        "NEAR(",
        "AND",
        "OR",
        "NOT",
        "{a b}",
        "col:",
        "+",
        "~",
        "@",
        "#",
        "?",
        "&",
        "=",
        ";",
        "--",
        "/*",
        "\u{202e}",
        "\u{200b}",
        "\u{301}",
        "🙂",
        "👩‍💻",
        "ß",
        "İ",
        "ﬃ",
        "𝔘",
        "中文",
        "العربية",
        "%%",
        "\\%",
        "''",
        "\"\"",
        "a",
        "mason",
        "2025",
        "aug 25",
        "x",
        "tiktok",
    ];
    let len = rng.gen_range(1..=8);
    (0..len)
        .map(|_| {
            if rng.gen_bool(0.3) {
                let c = loop {
                    let candidate = rng.gen_range(0u32..0x10_FFFF);
                    if let Some(c) = char::from_u32(candidate) {
                        break c;
                    }
                };
                c.to_string()
            } else {
                PIECES[rng.gen_range(0..PIECES.len())].to_string()
            }
        })
        .collect()
}

#[tokio::test]
async fn any_search_text_is_answered_without_a_server_error() {
    let app = spawn_app().await;
    let (user, _) = app.browser_sign_up("fuzz@example.com", "Hardened").await;
    for (platform, name) in [
        (Platform::X, "Mason Carter"),
        (Platform::Tiktok, "Ava \"Quote\" Lee"),
        (Platform::Linkedin, "100% Real_Deal"),
    ] {
        app.seed_account(&user, Seed::new(platform, name)).await;
    }
    let seed: u64 = std::env::var("IQUIVITY_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    let mut rng = StdRng::seed_from_u64(seed);
    let mut queries: Vec<String> = ["abc\0def", "\"", "*", "NEAR(a b)", "%_\\", "\u{202e}"]
        .iter()
        .map(|q| q.to_string())
        .collect();
    queries.extend((0..150).map(|_| hostile_query(&mut rng)));
    for q in &queries {
        let api = reqwest::Client::new()
            .get(app.url("/api/v1/accounts"))
            .query(&[("q", q)])
            .bearer_auth(&user.token)
            .sent()
            .await;
        let status = api.status();
        let body: Value = api.json().await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY,
            "seed {seed}, q {q:?}: {status} {body}"
        );
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_eq!(body["errors"][0]["field"], "q", "seed {seed}, q {q:?}");
        }
        let fragment = user
            .client
            .get(app.url("/fragments/accounts"))
            .query(&[("q", q)])
            .sent()
            .await;
        assert!(
            fragment.status().is_success() || fragment.status().is_client_error(),
            "seed {seed}, q {q:?}: the page's fragment answered {}",
            fragment.status()
        );
    }
    let (status, found) = app.get(&user, "/api/v1/accounts?q=100%25").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        names(&found),
        ["100% Real_Deal"],
        "a % is searched for as itself"
    );
}

#[tokio::test]
async fn the_posts_form_refuses_a_hostile_time_zone_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let (user, csrf) = app.browser_sign_up("tz@example.com", "Hardened").await;
    let account = app
        .seed_account(&user, Seed::new(Platform::Linkedin, "Tz Person"))
        .await;
    let account = account.to_string();
    let text = "Launch day <b>notes</b> kept as typed";
    let next_month = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let far = (chrono::Utc::now() + chrono::Duration::days(3 * 365))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let cases = [
        ("9223372036854775807", next_month.as_str(), "time zone"),
        ("-100000000000", next_month.as_str(), "time zone"),
        ("abc", next_month.as_str(), "time zone"),
        ("841", next_month.as_str(), "time zone"),
        ("60", far.as_str(), "within 2 years"),
        ("0", "2020-01-01T10:00", "in the past"),
    ];
    for (tz, publish_at, expected) in cases {
        let response = user
            .client
            .post(app.url("/posts"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("text", text),
                ("accounts", account.as_str()),
                ("publish_at", publish_at),
                ("tz", tz),
            ])
            .send()
            .await
            .expect("the server answers instead of dropping the connection");
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "tz {tz}"
        );
        let page = response.text().await.unwrap();
        let error_at = page
            .find("id=\"publish_at-error\"")
            .unwrap_or_else(|| panic!("tz {tz}: no message next to Publish at"));
        assert!(page[error_at..].contains(expected), "tz {tz}: {page}");
        assert!(
            page.contains("aria-describedby=\"publish_at-error\""),
            "the message is tied to its field"
        );
        assert!(
            page.contains("Launch day &lt;b&gt;notes&lt;/b&gt; kept as typed"),
            "tz {tz}: the text typed is kept (escaped)"
        );
        assert!(page.contains(&format!("value=\"{publish_at}\"")), "tz {tz}");
    }
    let (_, posts) = app.get(&user, "/api/v1/posts").await;
    assert_eq!(posts, json!([]), "nothing was scheduled");

    // The API refuses the same times, naming the field.
    for publish_at in ["2020-01-01T00:00:00Z", "2999-01-01T00:00:00Z"] {
        let (status, body) = app
            .post(
                &user,
                "/api/v1/posts",
                json!({"text": "hello", "accounts": [account], "publish_at": publish_at}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["errors"][0]["field"], "publish_at", "{body}");
    }
}

#[tokio::test]
async fn a_logout_from_another_site_does_not_end_the_session() {
    let app = spawn_app().await;
    let (user, csrf) = app.browser_sign_up("logout@example.com", "Hardened").await;
    let forged = user
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("origin", "http://evil.example")
        .sent()
        .await;
    expect_problem(forged, StatusCode::FORBIDDEN, "/problems/csrf").await;
    let me = user.client.get(app.url("/api/v1/me")).sent().await;
    assert_eq!(me.status(), StatusCode::OK, "the session survived");

    let genuine = user
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("origin", app.base.clone())
        .header("x-csrf-token", &csrf)
        .sent()
        .await;
    assert_eq!(genuine.status(), StatusCode::NO_CONTENT);
    let me = user.client.get(app.url("/api/v1/me")).sent().await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

async fn is_problem(response: reqwest::Response, status: StatusCode, what: &str) -> Value {
    assert_eq!(response.status(), status, "{what}");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert_eq!(content_type, "application/problem+json", "{what}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16(), "{what}: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: {body}"
    );
    body
}

#[tokio::test]
async fn every_oversize_or_wrong_type_request_is_answered_with_a_problem() {
    let app = spawn_app().await;
    let (user, csrf) = app.browser_sign_up("bodies@example.com", "Hardened").await;

    let upload = reqwest::Client::new()
        .post(app.url("/api/v1/media"))
        .bearer_auth(&user.token)
        .header("content-type", "image/png")
        .body(vec![0u8; 51 * 1024 * 1024])
        .sent()
        .await;
    is_problem(upload, StatusCode::PAYLOAD_TOO_LARGE, "a 51 MiB upload").await;
    assert_eq!(
        std::fs::read_dir(app.data_dir.path().join("data/media"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "a refused upload leaves no file"
    );

    let big_form = user
        .client
        .post(app.url("/posts"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("text", &"x".repeat(1024 * 1024 + 1)),
        ])
        .sent()
        .await;
    is_problem(big_form, StatusCode::PAYLOAD_TOO_LARGE, "a form over 1 MiB").await;

    let json_to_form = user
        .client
        .post(app.url("/posts"))
        .json(&json!({"csrf": csrf, "text": "hi"}))
        .sent()
        .await;
    is_problem(
        json_to_form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a form sent as JSON",
    )
    .await;

    let repeated = user
        .client
        .get(app.url("/oauth/x/callback?state=a&state=b&code=c"))
        .sent()
        .await;
    is_problem(
        repeated,
        StatusCode::BAD_REQUEST,
        "a repeated query parameter",
    )
    .await;

    let long_uri = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/accounts?q={}", "a".repeat(40 * 1024))))
        .bearer_auth(&user.token)
        .sent()
        .await;
    is_problem(long_uri, StatusCode::URI_TOO_LONG, "a 40 KiB address").await;

    let wrong_method = reqwest::Client::new()
        .delete(app.url("/api/v1/me"))
        .bearer_auth(&user.token)
        .sent()
        .await;
    let allow = wrong_method.headers().get("allow").cloned();
    is_problem(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "a method the route lacks",
    )
    .await;
    assert!(allow.is_some(), "405 says which methods are allowed");
}

#[tokio::test]
async fn labels_of_invisible_or_direction_changing_characters_are_refused() {
    let app = spawn_app().await;
    let user = app.sign_up("labels@example.com", "Labels").await;
    let id = app
        .seed_account(&user, Seed::new(Platform::X, "Label Target"))
        .await;
    let path = format!("/api/v1/accounts/{id}");
    for label in [
        "\u{200b}\u{200b}",
        "\u{202e}gnp.exe",
        "a\u{2066}b",
        " \u{feff} ",
    ] {
        let (status, body) = app.patch(&user, &path, json!({"labels": [label]})).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{label:?}: {body}"
        );
        assert_eq!(body["errors"][0]["field"], "labels", "{label:?}: {body}");
    }
    let (status, body) = app
        .patch(&user, &path, json!({"display_name": "\u{200b}"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Joiners inside emoji sequences are part of what people write.
    let (status, body) = app
        .patch(&user, &path, json!({"labels": ["👩‍💻 team", "client"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["labels"], json!(["👩‍💻 team", "client"]));
}

#[tokio::test]
async fn notices_come_from_the_server_not_from_the_address() {
    let app = spawn_app().await;
    let (user, csrf) = app.browser_sign_up("flash@example.com", "Hardened").await;
    for query in [
        "removed=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "bulk=Your%20account%20was%20suspended%2C%20call%20%2B1%20555",
    ] {
        let page = user
            .client
            .get(app.url(&format!("/?{query}")))
            .text_body()
            .await;
        assert!(
            !page.contains("alert(1)") && !page.contains("suspended"),
            "{query}: the address's text is not shown"
        );
    }

    // The server's own notice is shown once after the action, then gone.
    let id = app
        .seed_account(&user, Seed::new(Platform::X, "Leaving Soon"))
        .await;
    let removed = user
        .client
        .post(app.url(&format!("/accounts/{id}/remove")))
        .form(&[("csrf", csrf.as_str())])
        .sent()
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let location = removed.headers()["location"].to_str().unwrap().to_string();
    assert!(!location.contains("Leaving"), "{location}");
    let page = user.client.get(app.url(&location)).text_body().await;
    let notice = "Leaving Soon was removed and its credentials destroyed.";
    assert!(page.contains(notice), "the notice names the account");
    let again = user.client.get(app.url(&location)).text_body().await;
    assert!(!again.contains(notice), "a notice is shown once");
}

#[cfg(unix)]
#[tokio::test]
async fn database_files_are_private_whatever_the_directory() {
    use std::os::unix::fs::PermissionsExt;
    if std::env::var("IQUIVITY_TEST_DATABASE").as_deref() == Ok("postgres") {
        return; // The files in question are SQLite's.
    }
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("shared-data");
    std::fs::create_dir(&data_dir).unwrap();
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let app = spawn_app_with(|config| config.data_dir = data_dir.clone()).await;
    let user = app.sign_up("modes@example.com", "Modes").await;
    app.seed_account(&user, Seed::new(Platform::X, "Written"))
        .await;
    let mut seen = 0;
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("iquivity.db") || name == "keys.json" {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name} is {mode:o}");
            seen += 1;
        }
    }
    assert!(
        seen >= 3,
        "the database, its journal files and the key file"
    );
    assert!(
        logs().contains("can be read by other users"),
        "the start warns about the directory"
    );
}
