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

/// SMTP settings for the sink, with a password that must never show up anywhere.
fn smtp_to(sink: &SmtpSink) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port: sink.port,
        username: Some("mailer".into()),
        password: Some("smtp-password-never-shown".to_string().into()),
        from: "iQuivity Social <social@example.com>".into(),
        tls: SmtpTls::Plain,
    }
}

async fn mailing_app(sink: &SmtpSink) -> (TestApp, Arc<ManualClock>) {
    let smtp = smtp_to(sink);
    spawn_app_on_clock(Utc::now(), move |c| c.smtp = Some(smtp)).await
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

    // No log line holds a reset link's token or the SMTP password.
    let logs = logs();
    assert!(
        logs.contains("forgot-password"),
        "sanity: the logs are captured"
    );
    for secret in [token.as_str(), late_token, "smtp-password-never-shown"] {
        let leaking: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaking.is_empty(), "{leaking:#?}");
    }
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

#[tokio::test]
async fn an_inactive_account_emails_the_owner_at_once_and_is_a_digest_line_for_a_member() {
    let sink = SmtpSink::start().await;
    let smtp = smtp_to(&sink);
    let rig = crate::lifecycle::rig_with(move |c| c.smtp = Some(smtp)).await;
    let owner_email = rig.user.email.clone();
    let (status, invitation) = rig
        .post(
            "/api/v1/invitations",
            json!({"role": "member", "email": "watcher@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let joined = rig
        .app
        .sign_up_invited(
            &client(),
            "watcher@example.com",
            invitation["code"].as_str().unwrap(),
        )
        .await;
    assert_eq!(joined.status(), StatusCode::CREATED);
    let account = rig
        .connect(iquivity_domain::Platform::X, "Mason Carter")
        .await;
    // The member's digest clock starts with their first round.
    rig.round().await;
    let before = sink.mails().len();

    rig.app.revoke_grant(&rig.account(account).await).await;
    rig.clock.advance(Duration::hours(8));
    rig.round().await;
    rig.round().await;
    assert_eq!(rig.account(account).await["status"], "inactive");

    // One email to the owner, at once, for the incident; none to the member yet.
    let owner_mail: Vec<_> = sink.mails_to(&owner_email)[..]
        .iter()
        .filter(|m| m.subject().contains("Mason Carter"))
        .cloned()
        .collect();
    assert_eq!(owner_mail.len(), 1, "{owner_mail:?}");
    assert!(
        owner_mail[0]
            .subject()
            .starts_with("Lifecycle: Mason Carter on X (Twitter) is inactive."),
        "{}",
        owner_mail[0].subject()
    );
    assert!(
        owner_mail[0].data.contains("List-Unsubscribe: <"),
        "{}",
        owner_mail[0].data
    );
    assert!(owner_mail[0]
        .data
        .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    assert!(
        sink.mails_to("watcher@example.com").len() <= 1,
        "only the invitation so far"
    );
    let sent_before_digest = sink.mails().len();
    assert!(sent_before_digest > before);

    // Rounds before the day is up add nothing; the member's digest then has one line for it.
    rig.round().await;
    assert_eq!(sink.mails().len(), sent_before_digest);
    rig.clock.advance(Duration::hours(17));
    rig.round().await;
    let digests: Vec<_> = sink
        .mails_to("watcher@example.com")
        .into_iter()
        .filter(|m| m.subject().contains("in the last day"))
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    assert!(digests[0].data.contains("No client"), "{}", digests[0].data);
    assert_eq!(
        digests[0]
            .data
            .matches("Mason Carter on X (Twitter) is inactive")
            .count(),
        2,
        "one line, in the plain and the HTML part"
    );
    let owner_digest = sink
        .mails_to(&owner_email)
        .into_iter()
        .filter(|m| m.subject().contains("in the last day"))
        .count();
    assert!(
        owner_digest <= 1,
        "the owner's digest holds only digest kinds"
    );

    // The unsubscribe link asks first (a link scanner changes nothing), then turns that kind off without
    // signing in; another incident of that kind is not emailed.
    let link = owner_mail[0]
        .link_after(&rig.app.url("/unsubscribe/"))
        .unwrap();
    let page = reqwest::get(&link).await.unwrap().text().await.unwrap();
    assert!(page.contains("Stop these emails"), "{page}");
    let done = reqwest::Client::new().post(&link).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done
        .text()
        .await
        .unwrap()
        .contains("account.status_changed"));
    let tampered = format!("{link}x");
    let refused = reqwest::Client::new().post(&tampered).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let second = rig
        .connect(iquivity_domain::Platform::X, "Isabella Morgan")
        .await;
    rig.app.revoke_grant(&rig.account(second).await).await;
    rig.clock.advance(Duration::hours(8));
    rig.round().await;
    rig.round().await;
    assert_eq!(rig.account(second).await["status"], "inactive");
    assert!(
        !sink
            .mails_to(&owner_email)
            .iter()
            .any(|m| m.subject().contains("Isabella Morgan")),
        "unsubscribed"
    );
}

/// An instance on a shared PostgreSQL schema, mailing to the sink, on the given clock.
async fn mailing_instance(
    sink: &SmtpSink,
    database_url: String,
    clock: Arc<ManualClock>,
) -> TestApp {
    let smtp = smtp_to(sink);
    spawn_instance_tuned(
        database_url,
        move |c| {
            c.run_lifecycle = false;
            c.smtp = Some(smtp);
            // One key for all: any instance must open what another sealed.
            c.encryption_key = Some(
                "bXVsdGktaW5zdGFuY2UtdGVzdC1rZXktMzItYnl0ZXM="
                    .to_string()
                    .into(),
            );
        },
        move |core| core.clock = clock,
    )
    .await
}

#[tokio::test]
async fn two_instances_on_postgres_send_each_email_once() {
    let Some(server) = crate::instances::postgres_or_skip().await else {
        return;
    };
    let url = iquivity_store::postgres::create_scratch_schema(&server, "iqe")
        .await
        .unwrap();
    let sink = SmtpSink::start().await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let first = mailing_instance(&sink, url.clone(), clock.clone()).await;
    let second = mailing_instance(&sink, url, clock.clone()).await;
    first.sign_up("twice@example.com", "Twice").await;
    for _ in 0..5 {
        form(
            &first,
            "/forgot-password",
            &[("email", "twice@example.com")],
        )
        .await;
    }
    let both = || async {
        let (a, b) = tokio::join!(
            first.app.core.run_lifecycle_round("first"),
            second.app.core.run_lifecycle_round("second")
        );
        a.unwrap().mailed + b.unwrap().mailed
    };
    // The SMTP server is down: both instances try, neither sends, nothing is lost.
    sink.set_down(true);
    assert_eq!(both().await, 0);
    sink.set_down(false);
    assert_eq!(both().await, 0, "not before the backoff");
    clock.advance(Duration::seconds(31));
    assert_eq!(
        both().await,
        3,
        "three requests an hour per email; each sent by one instance"
    );
    clock.advance(Duration::hours(5));
    assert_eq!(both().await, 0);
    assert_eq!(sink.mails_to("twice@example.com").len(), 3, "no duplicate");
}

#[tokio::test]
async fn the_forgot_password_page_and_alert_email_choices_work_in_the_browser() {
    use crate::browser::{click, fill, prop_of, signed_up_in_browser, text_of, visit, wait_text};
    use crate::demo_pages::assert_accessible;
    use fantoccini::Locator;
    let Some((app, client)) = signed_up_in_browser("mail-pages@example.com", 1280, 900).await
    else {
        return;
    };

    // Settings: this app has no SMTP, which the section says; each kind has its choice, the owner's
    // defaults first.
    visit(&client, &app, "/settings#alert-emails").await;
    let section = text_of(&client, "#alert-emails").await;
    assert!(section.contains("Email is off on this server"), "{section}");
    let status_changed = client
        .find(Locator::Css("select[name='account.status_changed']"))
        .await
        .unwrap();
    assert_eq!(
        status_changed.prop("value").await.unwrap().as_deref(),
        Some("immediately")
    );
    assert_accessible(&client, "the alert email choices").await;
    client
        .find(Locator::Css("select[name='account.connected']"))
        .await
        .unwrap()
        .select_by_value("off")
        .await
        .unwrap();
    status_changed.select_by_value("digest").await.unwrap();
    click(&client, "#alert-emails button[type=submit]").await;
    wait_text(&client, "main", |t| {
        t.contains("Your alert emails are saved")
    })
    .await;
    for (name, value) in [
        ("account.connected", "off"),
        ("account.status_changed", "digest"),
    ] {
        let chosen = prop_of(&client, &format!("select[name='{name}']"), "value").await;
        assert_eq!(chosen.as_deref(), Some(value), "{name}");
    }

    // Signed out: "Forgot your password?" on the sign-in page leads to the request, which answers the
    // same for any address and says email is off here.
    client.delete_all_cookies().await.unwrap();
    visit(&client, &app, "/login").await;
    click(&client, "a[href='/forgot-password']").await;
    wait_text(&client, "h1", |t| t.contains("Forgot your password")).await;
    assert!(text_of(&client, "main")
        .await
        .contains("Email is off on this server"));
    assert_accessible(&client, "the forgot-password page").await;
    fill(&client, "#email", "mail-pages@example.com").await;
    click(&client, "form button[type=submit]").await;
    let answer = wait_text(&client, "main", |t| t.contains("Check your email")).await;
    assert!(
        answer.contains("If mail-pages@example.com belongs to an account"),
        "{answer}"
    );
    assert_accessible(&client, "the forgot-password answer").await;
    client.close().await.unwrap();

    // Without SMTP the email is written to the log (who, what), never its body with the link.
    let logged = |logs: &str| {
        logs.lines()
            .filter(|l| {
                l.contains("SMTP is not configured") && l.contains("mail-pages@example.com")
            })
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for _ in 0..100 {
        if !logged(&logs()).is_empty() {
            break;
        }
        app.app
            .core
            .run_lifecycle_round("test-worker")
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let lines = logged(&logs());
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("INFO") && lines[0].contains("password_reset"),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains("token"), "{}", lines[0]);
}
