//! LinkedIn: credentials in the body, non-rotating refresh, the member and organisations, posts, errors.

use super::*;

const LI_SCOPES: &str =
    "openid profile w_member_social w_organization_social rw_organization_admin";

fn li_authorize(base: &str, scopes: &str) -> String {
    url(
        base,
        "/oauth/v2/authorization",
        &[
            ("response_type", "code"),
            ("client_id", "li-app"),
            ("redirect_uri", CALLBACK),
            ("state", STATE),
            ("scope", scopes),
        ],
    )
}

async fn li_token(base: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    send(
        http()
            .post(format!("{base}/oauth/v2/accessToken"))
            .form(form),
    )
    .await
}

async fn li_exchange(base: &str, code: &str, secret: &str) -> (StatusCode, Value) {
    li_token(
        base,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("client_id", "li-app"),
            ("client_secret", secret),
        ],
    )
    .await
}

pub(crate) async fn li_login(base: &str, choice: &Consent) -> Value {
    let code = approve(&li_authorize(base, LI_SCOPES), choice).await;
    let (status, body) = li_exchange(base, &code, "li-app-secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A LinkedIn sandbox where Ann Lee signed in: the sandbox, its address and her access token.
async fn ann_lee_signed_in() -> (Sandbox, String, String) {
    let (sb, base) = sandbox(Platform::Linkedin).await;
    let tokens = li_login(&base, &as_user("Ann Lee")).await;
    let token = tokens["access_token"].as_str().unwrap().to_string();
    (sb, base, token)
}

fn rest(request: RequestBuilder, token: &str) -> RequestBuilder {
    request
        .bearer_auth(token)
        .header("LinkedIn-Version", "202601")
        .header("X-Restli-Protocol-Version", "2.0.0")
}

#[tokio::test]
async fn linkedin_code_exchange_with_credentials_in_the_body() {
    let (_sb, base) = sandbox(Platform::Linkedin).await;
    let elsewhere = li_authorize(&base, LI_SCOPES).replace("app.example", "other.example");
    assert_rejected(&elsewhere, "not registered").await;
    assert_rejected(
        &li_authorize(&base, LI_SCOPES).replace("li-app", "li-nope"),
        "li-nope",
    )
    .await;
    let code = approve(&li_authorize(&base, LI_SCOPES), &as_user("Ann Lee")).await;
    let (status, body) = li_exchange(&base, &code, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    // Basic auth alone is not how LinkedIn takes credentials.
    let (status, body) = send(
        http()
            .post(format!("{base}/oauth/v2/accessToken"))
            .basic_auth("li-app", Some("li-app-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
            ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");

    let (status, body) = li_exchange(&base, &code, "li-app-secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], 5_184_000);
    assert_eq!(body["refresh_token_expires_in"], 31_536_000);
    assert_eq!(
        body["scope"],
        "openid,profile,w_member_social,w_organization_social,rw_organization_admin"
    );
    assert!(body["access_token"].as_str().unwrap().starts_with("AQV"));

    let (status, body) = li_exchange(&base, &code, "li-app-secret").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn linkedin_refresh_does_not_rotate() {
    let (_sb, base) = sandbox(Platform::Linkedin).await;
    let tokens = li_login(&base, &Consent::default()).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", "li-app"),
        ("client_secret", "li-app-secret"),
    ];
    for _ in 0..2 {
        let (status, body) = li_token(&base, &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["refresh_token"], refresh);
        assert_ne!(body["access_token"], tokens["access_token"]);
        let remaining = body["refresh_token_expires_in"].as_i64().unwrap();
        assert!(remaining <= 31_536_000 && remaining > 31_535_000);
    }
}

#[tokio::test]
async fn linkedin_identity_and_organisations() {
    let (_sb, base, token) = ann_lee_signed_in().await;
    let token = token.as_str();
    let seed = by_name(&base, "Ann Lee").await;

    let (status, me) = send(http().get(format!("{base}/v2/userinfo")).bearer_auth(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["sub"], seed["id"]);
    assert_eq!(me["name"], "Ann Lee");
    assert_eq!(me["given_name"], "Ann");
    assert_eq!(me["family_name"], "Lee");

    let acls = format!("{base}/rest/organizationAcls?q=roleAssignee&state=APPROVED");
    let (status, body) = send(http().get(&acls).bearer_auth(token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "VERSION_MISSING");
    let (status, body) = send(rest(http().get(&acls), token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let roles: Vec<&str> = body["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["ADMINISTRATOR", "CONTENT_ADMINISTRATOR", "ANALYST"]);
    assert_eq!(body["paging"]["total"], 3);
    let person = format!("urn:li:person:{}", seed["id"].as_str().unwrap());
    assert_eq!(body["elements"][0]["roleAssignee"], person.as_str());
    let (_, admins) = send(rest(
        http().get(format!("{acls}&role=ADMINISTRATOR")),
        token,
    ))
    .await;
    assert_eq!(admins["elements"].as_array().unwrap().len(), 1);

    let org = seed["organizations"][0]["id"].as_u64().unwrap();
    assert_eq!(
        body["elements"][0]["organization"],
        format!("urn:li:organization:{org}")
    );
    let (status, found) = send(rest(
        http().get(format!("{base}/rest/organizations/{org}")),
        token,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["id"], org);
    assert_eq!(found["localizedName"], "Ann Lee Company");
    assert_eq!(found["vanityName"], "ann-lee-company");
}

#[tokio::test]
async fn linkedin_posts_as_member_or_administered_organisation() {
    let (_sb, base, token) = ann_lee_signed_in().await;
    let token = token.as_str();
    let seed = by_name(&base, "Ann Lee").await;
    let post = |author: String| {
        rest(http().post(format!("{base}/rest/posts")), token).json(&json!({
            "author": author,
            "commentary": "Hello LinkedIn",
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
        }))
    };
    let response = post(seed["person_urn"].as_str().unwrap().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let urn = response.headers()["x-restli-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(urn.starts_with("urn:li:share:"));
    assert!(response.bytes().await.unwrap().is_empty());

    let orgs = seed["organizations"].as_array().unwrap();
    let as_org = |i: usize| post(orgs[i]["urn"].as_str().unwrap().to_string()).send();
    assert_eq!(as_org(0).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(as_org(1).await.unwrap().status(), StatusCode::CREATED);
    let analyst = as_org(2).await.unwrap();
    assert_eq!(analyst.status(), StatusCode::FORBIDDEN);
    let body: Value = analyst.json().await.unwrap();
    assert_eq!(body["code"], "ACCESS_DENIED");
    assert_eq!(body["serviceErrorCode"], 100);
    let (status, _) = send(post("urn:li:person:someoneelse".into())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let posts = &sandbox_state(&base).await["posts"];
    assert_eq!(posts.as_array().unwrap().len(), 3);
    assert_eq!(posts[0]["id"], urn.as_str());
    assert_eq!(posts[0]["text"], "Hello LinkedIn");
}

#[tokio::test]
async fn linkedin_token_errors_and_revocation() {
    let (_sb, base) = sandbox(Platform::Linkedin).await;
    let denied = deny_at(&li_authorize(&base, LI_SCOPES)).await;
    assert_eq!(denied["error"], "access_denied");

    let tokens = li_login(&base, &as_user("Ann Lee")).await;
    let token = tokens["access_token"].as_str().unwrap();
    let user = user_id(&base, "Ann Lee").await;
    let userinfo = || send(http().get(format!("{base}/v2/userinfo")).bearer_auth(token));

    remove_scope(&base, &user, "profile").await;
    let (status, body) = userinfo().await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "ACCESS_DENIED");

    control(&base, &format!("/users/{user}/expire"), json!({})).await;
    let (status, body) = userinfo().await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"status": 401, "serviceErrorCode": 65600, "code": "EXPIRED_ACCESS_TOKEN", "message": "The token used in the request has expired"})
    );
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("client_id", "li-app"),
        ("client_secret", "li-app-secret"),
    ];
    let (status, refreshed) = li_token(&base, &refresh).await;
    assert_eq!(status, StatusCode::OK);
    let fresh = refreshed["access_token"].as_str().unwrap();

    let response = http()
        .post(format!("{base}/oauth/v2/revoke"))
        .form(&[
            ("client_id", "li-app"),
            ("client_secret", "li-app-secret"),
            ("token", fresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().await.unwrap().is_empty());
    let (status, body) = send(http().get(format!("{base}/v2/userinfo")).bearer_auth(fresh)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["serviceErrorCode"], 65601);
    assert_eq!(body["code"], "REVOKED_ACCESS_TOKEN");
    assert_eq!(li_token(&base, &refresh).await.0, StatusCode::BAD_REQUEST);

    let (_, body) = send(
        http()
            .get(format!("{base}/v2/userinfo"))
            .bearer_auth("AQVnope"),
    )
    .await;
    assert_eq!(body["serviceErrorCode"], 65604);

    // The member removing the app on LinkedIn ends a fresh connection too.
    let again = li_login(&base, &as_user("Ann Lee")).await;
    let (status, _) = control(&base, &format!("/users/{user}/revoke"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(
        http()
            .get(format!("{base}/v2/userinfo"))
            .bearer_auth(again["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "REVOKED_ACCESS_TOKEN");
    assert_eq!(sandbox_state(&base).await["revocations"], 2);
}
