use super::*;
use secrecy::SecretString;

fn tokens(expires_in: Option<i64>, refresh: bool) -> TokenSet {
    let now = Utc::now();
    TokenSet {
        access_token: SecretString::from("a".to_string()),
        refresh_token: refresh.then(|| SecretString::from("r".to_string())),
        expires_at: expires_in.map(|s| now + Duration::seconds(s)),
        refresh_expires_at: None,
        grant_token: None,
        issued_at: Some(now),
    }
}

#[test]
fn renewal_comes_ahead_of_expiry_by_a_platform_margin() {
    let now = Utc::now();
    let x = renew_at(
        Platform::X,
        AccountKind::Profile,
        &tokens(Some(7200), true),
        now,
    )
    .unwrap();
    assert!((x - now - Duration::minutes(110)).num_seconds().abs() < 5);
    let li = renew_at(
        Platform::Linkedin,
        AccountKind::Profile,
        &tokens(Some(60 * 86400), true),
        now,
    )
    .unwrap();
    assert!((li - now - Duration::days(53)).num_seconds().abs() < 5);
    assert_eq!(
        renew_at(
            Platform::Linkedin,
            AccountKind::Profile,
            &tokens(Some(60 * 86400), false),
            now
        ),
        None
    );
    assert_eq!(
        renew_at(
            Platform::Tiktok,
            AccountKind::Business,
            &tokens(None, true),
            now
        ),
        None
    );
    let soon = renew_at(
        Platform::X,
        AccountKind::Profile,
        &tokens(Some(60), true),
        now,
    )
    .unwrap();
    assert!(soon >= now + Duration::minutes(1), "never in the past");
}
