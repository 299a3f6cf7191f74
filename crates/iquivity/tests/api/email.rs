//! Email through a local SMTP sink: password reset end to end, invitations by email, and the outbox
//! riding out an SMTP server that is down.

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;
use chrono::{Duration, Utc};
use iquivity_core::lifecycle::ManualClock;
use iquivity_core::mail::{SmtpSettings, SmtpTls};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

async fn mailing_app(sink: &SmtpSink) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let engine = clock.clone();
    let port = sink.port;
    let app = spawn_app_tuned(
        move |c| {
            c.run_lifecycle = false;
            c.smtp = Some(SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                username: Some("mailer".into()),
                password: Some("smtp-password-never-shown".to_string().into()),
                from: "iQuivity Social <social@example.com>".into(),
                tls: SmtpTls::Plain,
            });
        },
        move |core| core.clock = engine,
    )
    .await;
    (app, clock)
}

async fn round(app: &TestApp) -> iquivity_core::lifecycle::RoundReport {
    app.app
        .core
        .run_lifecycle_round("test-worker")
        .await
        .unwrap()
}

/// Posts a page's form as a browser would (no session needed for these).
async fn form(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, Option<String>) {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url(path))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (status, response.text().await.unwrap(), location)
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_through_the_emailed_link() {
    let sink = SmtpSink::start().await;
    let (app, clock) = mailing_app(&sink).await;
    let owner = app.sign_up("reset@example.com", "Reset").await;
    // A second sign-in elsewhere, which "sign out everywhere" ends.
    let elsewhere = app.user_signed_in("reset@example.com", PASSWORD).await;

    // The same answer for a registered and an unknown email; only the registered one gets mail.
    let (status, known, _) =
        form(&app, "/forgot-password", &[("email", "reset@example.com")]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, unknown, _) =
        form(&app, "/forgot-password", &[("email", "nobody@example.com")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        known.replace("reset@example.com", "E"),
        unknown.replace("nobody@example.com", "E")
    );
    assert_eq!(round(&app).await.mailed, 1);
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, ["reset@example.com"]);
    assert_eq!(mails[0].subject(), "Reset your iQuivity Social password");
    assert!(
        mails[0].data.contains("Content-Type: text/plain"),
        "a plain part"
    );
    assert!(
        mails[0].data.contains("Content-Type: text/html"),
        "an HTML part"
    );
    assert!(!mails[0].data.contains("<img"), "no remote images");
    let link = mails[0]
        .link_after(&app.url("/reset-password?token="))
        .unwrap();
    let token = link.split("token=").nth(1).unwrap().to_string();
    assert!(token.starts_with("iqr_"), "{link}");

    // Only its digest is kept; the outbox is sealed.
    let stored = app.database_bytes().await;
    assert!(
        !stored.windows(token.len()).any(|w| w == token.as_bytes()),
        "the token in clear"
    );
    let smtp_password = b"smtp-password-never-shown";
    assert!(
        !stored
            .windows(smtp_password.len())
            .any(|w| w == smtp_password),
        "the SMTP password"
    );

    // The link opens a form; a short password is refused on it and the link still works after.
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.text().await.unwrap().contains("Choose a new password"));
    let (status, body, _) = form(
        &app,
        "/reset-password",
        &[("token", &token), ("password", "short")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _, location) = form(
        &app,
        "/reset-password",
        &[
            ("token", &token),
            ("password", "a brand new passphrase"),
            ("sign_out_everywhere", "1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/login?reset=done"));

    // Every session and token ended; the old password no longer works, the new one does.
    let (status, _) = app.get(&owner, "/api/v1/accounts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get(&elsewhere, "/api/v1/accounts").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let login = |password: &'static str| {
        let url = app.url("/api/v1/auth/login");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"email": "reset@example.com", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(login(PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert!(login("a brand new passphrase").await.is_success());

    // Used once: the same link again is refused. A notice of the change went out.
    let (status, body, _) = form(
        &app,
        "/reset-password",
        &[("token", &token), ("password", "another new passphrase")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("already been used or has expired"), "{body}");
    round(&app).await;
    let notices = sink.mails_to("reset@example.com");
    assert_eq!(notices.len(), 2);
    assert_eq!(
        notices[1].subject(),
        "Your iQuivity Social password was changed"
    );

    // A link older than 30 minutes is refused.
    form(&app, "/forgot-password", &[("email", "reset@example.com")]).await;
    round(&app).await;
    let late = sink.mails_to("reset@example.com")[2]
        .link_after(&app.url("/reset-password?token="))
        .unwrap();
    clock.advance(Duration::minutes(31));
    let late_token = late.split("token=").nth(1).unwrap();
    let (status, body, _) = form(
        &app,
        "/reset-password",
        &[("token", late_token), ("password", "too late a passphrase")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("already been used or has expired"), "{body}");

    // Three requests per email an hour: the fourth is refused, registered or not alike.
    for email in ["reset@example.com", "nobody@example.com"] {
        let (status, _, _) = form(&app, "/forgot-password", &[("email", email)]).await;
        assert_eq!(status, StatusCode::OK, "{email}");
    }
    let (status, _, _) = form(&app, "/forgot-password", &[("email", "reset@example.com")]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = form(&app, "/forgot-password", &[("email", "nobody@example.com")]).await;
    assert_eq!(status, StatusCode::OK, "the unknown email's third request");
}

#[tokio::test]
async fn an_invitation_is_emailed_and_accepted_from_its_link() {
    let sink = SmtpSink::start().await;
    let (app, _) = mailing_app(&sink).await;
    let owner = app.sign_up("inviter@example.com", "Harbor Agency").await;
    let (status, _) = app
        .post(
            &owner,
            "/api/v1/invitations",
            json!({"role": "member", "email": "newcomer@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    round(&app).await;
    let mails = sink.mails_to("newcomer@example.com");
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject(),
        "inviter@example.com invites you to Harbor Agency on iQuivity Social"
    );
    assert!(mails[0].data.contains("as member"), "{}", mails[0].data);
    let link = mails[0].link_after(&app.url("/invitations/")).unwrap();
    let page = reqwest::get(&link).await.unwrap().text().await.unwrap();
    assert!(page.contains("Harbor Agency"), "{page}");
    let code = link.rsplit('/').next().unwrap();
    let response = app
        .sign_up_invited(&client(), "newcomer@example.com", code)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let joined: serde_json::Value = response.json().await.unwrap();
    assert_eq!(joined["workspace_id"], owner.workspace_id.to_string());
}

#[tokio::test]
async fn mail_waits_out_a_down_smtp_server_and_goes_once() {
    let sink = SmtpSink::start().await;
    let (app, clock) = mailing_app(&sink).await;
    app.sign_up("patient@example.com", "Patient").await;
    sink.set_down(true);
    form(
        &app,
        "/forgot-password",
        &[("email", "patient@example.com")],
    )
    .await;
    assert_eq!(round(&app).await.mailed, 0);
    assert_eq!(
        round(&app).await.mailed,
        0,
        "not tried again before its time"
    );
    assert!(sink.mails().is_empty());
    sink.set_down(false);
    clock.advance(Duration::seconds(31));
    assert_eq!(round(&app).await.mailed, 1);
    clock.advance(Duration::hours(5));
    assert_eq!(round(&app).await.mailed, 0);
    assert_eq!(sink.mails_to("patient@example.com").len(), 1, "sent once");
}
