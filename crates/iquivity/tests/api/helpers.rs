use chrono::{DateTime, Utc};
use iquivity::{App, Config};
use iquivity_core::credentials::seal;
use iquivity_core::lifecycle::ManualClock;
use iquivity_domain::TokenSet;
use iquivity_domain::{AccountId, AccountKind, AccountStatus, Platform, UserId, WorkspaceId};
use iquivity_store::{AccountUpsert, StoredCredential};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

/// Every log line of the test process at every level, so tests can assert that no secret is ever logged.
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = LogBuffer(buffer.clone());
        // Everything at TRACE, except the crates only the tests' HTTP client uses: its cookie jar logs
        // the cookies it receives, which is the test client's business, not the service's.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace,cookie_store=off"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        buffer
    })
    .clone()
}

/// Tells whoever runs the tests that the current test is skipped, and why, in `cargo test`'s own output.
/// libtest captures `print!` and `eprint!` (showing them only for a failed test, or with `--nocapture`),
/// so a skip announced with them passes unseen; what is written to the standard error handle itself is
/// not captured. libtest names each test's thread after the test.
pub fn announce_skip(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

pub fn logs() -> String {
    String::from_utf8_lossy(&capture_logs().lock().unwrap()).into_owned()
}

pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    pub data_dir: tempfile::TempDir,
    /// Where its database is, when it is not the embedded SQLite file in `data_dir`.
    pub database_url: Option<String>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_tuned(adjust, |_| {}).await
}

/// With the configuration and then the core's settings adjusted (e.g. a short connection lifetime).
pub async fn spawn_app_tuned(
    adjust: impl FnOnce(&mut Config),
    tune: impl FnOnce(&mut iquivity_core::Core),
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, adjust, tune).await
}

/// An app on a manual clock that starts at `start` (returned with it), whose jobs run only when a test
/// runs a round, with the configuration `adjust` changes.
pub async fn spawn_app_on_clock(
    start: DateTime<Utc>,
    adjust: impl FnOnce(&mut Config),
) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start));
    let engine = clock.clone();
    let app = spawn_app_tuned(
        |c| {
            c.run_lifecycle = false;
            adjust(c);
        },
        move |core| core.clock = engine,
    )
    .await;
    (app, clock)
}

/// An app on a manual clock whose jobs run only when a test runs a round, and which may deliver webhooks
/// to 127.0.0.1:`port`.
pub async fn spawn_app_hooked_to(port: u16) -> (TestApp, Arc<ManualClock>) {
    spawn_app_on_clock(Utc::now(), |c| {
        c.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        c.webhook_allowed_ports = vec![port];
    })
    .await
}

/// On a given address (that the test reserved), for tests that must know it before the app starts.
pub async fn spawn_app_at(addr: SocketAddr, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    start(listener, adjust, |_| {}).await
}

async fn start(
    listener: tokio::net::TcpListener,
    adjust: impl FnOnce(&mut Config),
    tune: impl FnOnce(&mut iquivity_core::Core),
) -> TestApp {
    start_in(
        tempfile::tempdir().unwrap(),
        test_database().await,
        listener,
        adjust,
        tune,
    )
    .await
}

/// One more instance on a given database (with its own data directory), as several instances share one
/// PostgreSQL database.
pub async fn spawn_instance_on(database_url: String) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_in(
        tempfile::tempdir().unwrap(),
        Some(database_url),
        listener,
        |_| {},
        |_| {},
    )
    .await
}

/// One more instance on a given database, its configuration and core adjusted as [`spawn_app_tuned`] does.
pub async fn spawn_instance_tuned(
    database_url: String,
    adjust: impl FnOnce(&mut Config),
    tune: impl FnOnce(&mut iquivity_core::Core),
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_in(
        tempfile::tempdir().unwrap(),
        Some(database_url),
        listener,
        adjust,
        tune,
    )
    .await
}

/// The PostgreSQL server the tests may use: `IQUIVITY_TEST_POSTGRES_URL`, or the local default.
pub fn postgres_url() -> String {
    std::env::var("IQUIVITY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// With `IQUIVITY_TEST_DATABASE=postgres`, every app gets a fresh PostgreSQL schema instead of SQLite.
pub async fn test_database() -> Option<String> {
    match std::env::var("IQUIVITY_TEST_DATABASE").as_deref() {
        Ok("postgres") => Some(
            iquivity_store::postgres::create_scratch_schema(&postgres_url(), "iqt")
                .await
                .expect("IQUIVITY_TEST_DATABASE=postgres, but PostgreSQL cannot be reached"),
        ),
        Ok("sqlite") | Err(_) => None,
        Ok(other) => panic!("IQUIVITY_TEST_DATABASE must be sqlite or postgres, not {other:?}"),
    }
}

/// The same data directory, as after a restart: what was stored (and the sandbox's own state) is kept.
pub async fn restart(
    app: TestApp,
    adjust: impl FnOnce(&mut Config),
    tune: impl FnOnce(&mut iquivity_core::Core),
) -> TestApp {
    let TestApp {
        data_dir,
        database_url,
        app: old,
        _shutdown,
        ..
    } = app;
    drop(_shutdown);
    // The server task holds its own reference; wait for it to let go so the sandbox (and its hold on the
    // state directory) stops with it.
    for _ in 0..500 {
        if Arc::strong_count(&old) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(old);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start_in(data_dir, database_url, listener, adjust, tune).await
}

async fn start_in(
    data_dir: tempfile::TempDir,
    database_url: Option<String>,
    listener: tokio::net::TcpListener,
    adjust: impl FnOnce(&mut Config),
    tune: impl FnOnce(&mut iquivity_core::Core),
) -> TestApp {
    capture_logs();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let mut config = Config {
        data_dir: data_dir.path().join("data"),
        listen: addr,
        database_url: database_url.clone(),
        ..Config::default()
    };
    adjust(&mut config);
    let mut app = App::open(config).await.unwrap();
    tune(&mut app.core);
    let app = Arc::new(app);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = app.clone();
    tokio::spawn(async move {
        server
            .serve(listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    TestApp {
        base: format!("http://{addr}"),
        app,
        data_dir,
        database_url,
        _shutdown: tx,
    }
}

/// A signed-up user: a cookie-holding client and an API token in their workspace.
pub struct User {
    pub email: String,
    pub password: String,
    pub client: reqwest::Client,
    pub token: String,
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Everything the database holds, as bytes to scan: the SQLite files, or every row (as text) and every
    /// binary column (raw) of the app's PostgreSQL schema.
    pub async fn database_bytes(&self) -> Vec<u8> {
        use sqlx::{Connection, Row};
        self.app.store.checkpoint().await.unwrap();
        let mut bytes = Vec::new();
        let Some(url) = &self.database_url else {
            for entry in std::fs::read_dir(self.data_dir.path().join("data")).unwrap() {
                let path = entry.unwrap().path();
                if path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("iquivity.db")
                {
                    bytes.extend(std::fs::read(&path).unwrap());
                }
            }
            return bytes;
        };
        let schema = url
            .split("search_path]=")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap()
            .to_string();
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let columns = sqlx::query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
        )
        .bind(&schema)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut tables = std::collections::BTreeSet::new();
        for column in &columns {
            let table: String = column.get(0);
            let name: String = column.get(1);
            let kind: String = column.get(2);
            if kind == "bytea" {
                let values: Vec<Option<Vec<u8>>> =
                    sqlx::query_scalar(&format!("SELECT \"{name}\" FROM \"{schema}\".\"{table}\""))
                        .fetch_all(&mut conn)
                        .await
                        .unwrap();
                values.into_iter().flatten().for_each(|v| bytes.extend(v));
            }
            tables.insert(table);
        }
        for table in tables {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT t::text FROM \"{schema}\".\"{table}\" t"))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            rows.into_iter().for_each(|r| bytes.extend(r.into_bytes()));
        }
        bytes
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn sign_up(&self, email: &str, workspace: &str) -> User {
        let client = client();
        let response = client
            .post(self.url("/api/v1/auth/signup"))
            .json(&json!({"email": email, "password": PASSWORD, "workspace_name": workspace}))
            .sent()
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap()
        );
        let session: Value = response.json().await.unwrap();
        let token = self.create_token(&client).await;
        User {
            email: email.to_string(),
            password: PASSWORD.to_string(),
            client,
            token,
            user_id: session["user_id"].as_str().unwrap().parse().unwrap(),
            workspace_id: session["workspace_id"].as_str().unwrap().parse().unwrap(),
        }
    }

    pub async fn create_token(&self, client: &reqwest::Client) -> String {
        let response = client
            .post(self.url("/api/v1/tokens"))
            .json(&json!({"name": "tests"}))
            .sent()
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    /// GET with the user's bearer token; returns status and JSON body.
    pub async fn get(&self, user: &User, path: &str) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(&user.token)
            .sent()
            .await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(
        &self,
        user: &User,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(&user.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.sent().await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POST `body` as JSON with the user's bearer token.
    pub async fn post(&self, user: &User, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(user, reqwest::Method::POST, path, Some(body))
            .await
    }

    /// POST with no body at all (not even `null`), as action endpoints take it.
    pub async fn post_bare(&self, user: &User, path: &str) -> (StatusCode, Value) {
        self.send(user, reqwest::Method::POST, path, None).await
    }

    /// PATCH `body` as JSON with the user's bearer token.
    pub async fn patch(&self, user: &User, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(user, reqwest::Method::PATCH, path, Some(body))
            .await
    }

    pub async fn delete(&self, user: &User, path: &str) -> (StatusCode, Value) {
        self.send(user, reqwest::Method::DELETE, path, None).await
    }

    /// Refresh on an account (as the API lists it), with the answer.
    pub async fn refresh(&self, user: &User, account: &Value) -> (StatusCode, Value) {
        let id = account["id"].as_str().expect("an account's id");
        self.post_bare(user, &format!("/api/v1/accounts/{id}/refresh"))
            .await
    }

    /// The id of the user's workspace's one account.
    pub async fn only_account_id(&self, user: &User) -> String {
        let (_, page) = self.get(user, "/api/v1/accounts").await;
        assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
        page["items"][0]["id"].as_str().unwrap().to_string()
    }

    /// Adds a client through the clients API, and answers its id.
    pub async fn add_client(&self, user: &User, name: &str) -> String {
        let (status, client) = self
            .post(user, "/api/v1/clients", json!({ "name": name }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{client}");
        client["id"].as_str().unwrap().to_string()
    }

    /// Puts an account in a client through the accounts API, and checks that it took.
    pub async fn assign_client(&self, user: &User, account: impl std::fmt::Display, client: &str) {
        let (status, view) = self
            .patch(
                user,
                &format!("/api/v1/accounts/{account}"),
                json!({ "client_id": client }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        assert_eq!(view["client_id"], client, "{view}");
    }

    /// The OpenAPI document, which anyone may read.
    pub async fn openapi(&self) -> Value {
        client()
            .get(self.url("/api/v1/openapi.json"))
            .sent()
            .await
            .json()
            .await
            .unwrap()
    }

    /// The id of the user's workspace's account shown as `name`.
    pub async fn account_id(&self, user: &User, name: &str) -> String {
        let (_, page) = self.get(user, "/api/v1/accounts?limit=100").await;
        let found = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["display_name"] == name);
        found.unwrap_or_else(|| panic!("no account {name} in {page}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn invitation_code(&self, user: &User, role: &str) -> String {
        let (status, invitation) = self
            .post(user, "/api/v1/invitations", json!({ "role": role }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{invitation}");
        invitation["code"].as_str().unwrap().to_string()
    }

    /// POST `body` as JSON with no session or token, as a visitor does (sign-up, login).
    pub async fn post_as_guest(&self, path: &str, body: Value) -> reqwest::Response {
        client().post(self.url(path)).json(&body).sent().await
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        client().get(self.url("/metrics")).text_body().await
    }

    /// `path` on the platform's sandbox that this app runs.
    pub fn sandbox_url(&self, platform: Platform, path: &str) -> String {
        let sandbox = self
            .app
            .sandbox
            .as_ref()
            .expect("the app runs the sandboxes");
        format!("{}{path}", sandbox.base_url(platform).unwrap())
    }

    /// A sandbox control action (`POST /_sandbox/...`), which must succeed.
    pub async fn sandbox_control(&self, platform: Platform, path: &str, body: Value) {
        let response = client()
            .post(self.sandbox_url(platform, path))
            .json(&body)
            .sent()
            .await;
        let status = response.status();
        assert!(status.is_success(), "{path}: {status}");
    }

    /// Revokes, on its platform's sandbox, the grant behind an account (as the API answers it), as its
    /// owner would in the platform's settings.
    pub async fn revoke_grant(&self, account: &Value) {
        let platform: Platform = account["platform"].as_str().unwrap().parse().unwrap();
        let path = format!(
            "/_sandbox/users/{}/revoke",
            account["platform_account_id"].as_str().unwrap()
        );
        self.sandbox_control(platform, &path, json!({})).await
    }

    /// Takes `scope` back from the grant of the sandbox user named `name`.
    pub async fn remove_sandbox_scope(&self, platform: Platform, name: &str, scope: &str) {
        let by_name = format!("/_sandbox/users/by-name/{name}");
        let user: Value = client()
            .get(self.sandbox_url(platform, &by_name))
            .json_body()
            .await;
        let path = format!(
            "/_sandbox/users/{}/scopes/remove",
            user["id"].as_str().unwrap()
        );
        self.sandbox_control(platform, &path, json!({ "scope": scope }))
            .await;
    }

    pub async fn set_plan(&self, workspace: WorkspaceId, plan: iquivity_domain::Plan) {
        assert!(self.app.store.set_plan(workspace, plan).await.unwrap());
    }

    /// Stores a connected account for `user` as a finished connection would, at a chosen time.
    pub async fn seed_account(&self, user: &User, spec: Seed) -> AccountId {
        let vault = self.app.core.vault.clone();
        let tokens = TokenSet {
            access_token: SecretString::from(spec.access_token.clone()),
            refresh_token: Some(SecretString::from(format!("{}-refresh", spec.access_token))),
            expires_at: None,
            refresh_expires_at: None,
            grant_token: None,
            issued_at: None,
        };
        let sealer = move |id: AccountId| -> Result<StoredCredential, String> {
            seal(&vault, id, &tokens).map_err(|e| e.to_string())
        };
        let outcome = self
            .app
            .store
            .upsert_account(
                &AccountUpsert {
                    id: AccountId::new(),
                    workspace_id: user.workspace_id,
                    platform: spec.platform,
                    kind: spec.kind,
                    platform_account_id: spec
                        .platform_account_id
                        .unwrap_or_else(|| format!("pid-{}", uuid::Uuid::new_v4())),
                    display_name: spec.name.clone(),
                    handle: spec.handle.map(str::to_string),
                    avatar_url: None,
                    scopes: vec!["scope.a".into()],
                    status: AccountStatus::Active,
                    status_reason: None,
                    status_message: None,
                    labels: spec.labels.iter().map(|l| l.to_string()).collect(),
                    connected_by: Some(user.user_id),
                    token_expires_at: spec.token_expires_at,
                    sandbox: true,
                    now: spec.created_at.unwrap_or_else(Utc::now),
                },
                Some(&sealer),
            )
            .await
            .unwrap();
        let id = outcome.account.id;
        if let Some(reason) = spec.reason {
            self.app
                .core
                .change_account_status(user.workspace_id, id, Some(reason), None)
                .await
                .unwrap();
        }
        id
    }
}

pub struct Seed {
    pub platform: Platform,
    pub kind: AccountKind,
    pub name: String,
    pub handle: Option<&'static str>,
    pub labels: Vec<&'static str>,
    pub created_at: Option<DateTime<Utc>>,
    pub reason: Option<iquivity_domain::StatusReason>,
    pub access_token: String,
    pub platform_account_id: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
}

impl Seed {
    pub fn new(platform: Platform, name: impl Into<String>) -> Self {
        Seed {
            platform,
            kind: AccountKind::Profile,
            name: name.into(),
            handle: None,
            labels: Vec::new(),
            created_at: None,
            reason: None,
            access_token: format!("tok-{}", uuid::Uuid::new_v4()),
            platform_account_id: None,
            token_expires_at: None,
        }
    }

    /// The same seed, holding `access_token` as its access token.
    pub fn holding(self, access_token: &str) -> Self {
        Self {
            access_token: access_token.to_string(),
            ..self
        }
    }

    pub fn kind(self, kind: AccountKind) -> Self {
        Self { kind, ..self }
    }

    pub fn labels(self, labels: Vec<&'static str>) -> Self {
        Self { labels, ..self }
    }

    pub fn handle(self, handle: &'static str) -> Self {
        Self {
            handle: Some(handle),
            ..self
        }
    }

    /// The same seed, inactive for `reason`.
    pub fn reason(self, reason: iquivity_domain::StatusReason) -> Self {
        Self {
            reason: Some(reason),
            ..self
        }
    }

    pub fn token_expires_at(self, at: DateTime<Utc>) -> Self {
        Self {
            token_expires_at: Some(at),
            ..self
        }
    }

    pub fn platform_account_id(self, id: &str) -> Self {
        Self {
            platform_account_id: Some(id.to_string()),
            ..self
        }
    }
}

/// Asserts that a response is problem+json with the given status and type.
pub async fn expect_problem(response: reqwest::Response, status: StatusCode, kind: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], kind, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

/// The session id a response sets (the value of its first `Set-Cookie`).
pub fn session_set_by(response: &reqwest::Response) -> String {
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let pair = cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_string()
}

/// Asserts a 422 validation problem; returns it.
pub async fn expect_invalid(response: reqwest::Response) -> Value {
    expect_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "/problems/validation",
    )
    .await
}

/// Asserts a 429 rate-limited problem that says when to come back; returns it.
pub async fn expect_rate_limited(response: reqwest::Response) -> Value {
    assert!(response.headers().contains_key("retry-after"));
    expect_problem(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        "/problems/rate-limited",
    )
    .await
}

/// The string `key` of every element of the JSON list `list`, in order (panics on a non-list or a
/// missing key, showing what was there).
/// The target of a post (as the API answers it) that goes to `account`.
pub fn target_for(post: &Value, account: impl std::fmt::Display) -> Value {
    let account = account.to_string();
    let targets = post["targets"].as_array().expect("a post's targets");
    let found = targets.iter().find(|t| t["account_id"] == account.as_str());
    found
        .unwrap_or_else(|| panic!("no target for {account} in {post}"))
        .clone()
}

pub fn strings_at(list: &Value, key: &str) -> Vec<String> {
    let items = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"));
    let text = |item: &Value| match item[key].as_str() {
        Some(text) => text.to_string(),
        None => panic!("no {key} in {item}"),
    };
    items.iter().map(text).collect()
}

pub fn names(page: &Value) -> Vec<String> {
    strings_at(&page["items"], "display_name")
}

/// A client as a browser is: it keeps cookies and does not follow redirects (tests look at them).
pub fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The CSRF token a page carries, in its meta tag or a form field.
pub fn csrf_of(html: &str) -> String {
    let meta = "name=\"csrf-token\" content=\"";
    let field = "name=\"csrf\" value=\"";
    let start = html
        .find(meta)
        .map(|i| i + meta.len())
        .or_else(|| html.find(field).map(|i| i + field.len()))
        .expect("the page carries its CSRF token");
    html[start..start + 64].to_string()
}

impl TestApp {
    /// Signs up through the sign-up form as a browser does; answers the user (the browser holds the
    /// session cookie) and the CSRF token of its pages.
    pub async fn browser_sign_up(&self, email: &str, workspace: &str) -> (User, String) {
        let client = browser_client();
        let response = self.submit_sign_up(&client, email, workspace).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let csrf = csrf_of(&client.get(self.url("/")).text_body().await);
        (self.user_of(client, email).await, csrf)
    }

    /// Signs up through the API as `email`, joining with the invitation `code`: the answer.
    pub async fn sign_up_invited(
        &self,
        client: &reqwest::Client,
        email: &str,
        code: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/api/v1/auth/signup"))
            .json(&json!({"email": email, "password": PASSWORD, "invitation": code}))
            .sent()
            .await
    }

    /// Submits the sign-up form with `client`, as a browser does: the answer.
    pub async fn submit_sign_up(
        &self,
        client: &reqwest::Client,
        email: &str,
        workspace: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/signup"))
            .form(&[
                ("email", email),
                ("password", PASSWORD),
                ("workspace_name", workspace),
            ])
            .sent()
            .await
    }

    /// Signs in through the API as an existing user (the demo's owner, say): the user.
    pub async fn user_signed_in(&self, email: &str, password: &str) -> User {
        let client = browser_client();
        let response = client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .sent()
            .await;
        assert!(response.status().is_success(), "{email} signs in");
        User {
            password: password.into(),
            ..self.user_of(client, email).await
        }
    }

    /// The user whose session `client` holds, with a new API token.
    pub async fn user_of(&self, client: reqwest::Client, email: &str) -> User {
        let token = self.create_token(&client).await;
        let caller = self.app.core.caller_from_token(&token).await.unwrap();
        User {
            email: email.into(),
            password: PASSWORD.into(),
            client,
            token,
            user_id: caller.user_id,
            workspace_id: caller.workspace_id,
        }
    }
}

/// Polls `condition` until it holds, failing the test (naming `what` it waited for) if it still does
/// not after a minute: a wait for what the test needs, where a fixed sleep would race a loaded machine.
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !condition().await {
        assert!(
            std::time::Instant::now() < deadline,
            "waited a minute for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Sends a request and reads its answer, where failing to do either fails the test.
pub trait Fetch {
    fn sent(self) -> impl std::future::Future<Output = reqwest::Response>;
    fn text_body(self) -> impl std::future::Future<Output = String>;
    fn json_body<T: serde::de::DeserializeOwned>(self) -> impl std::future::Future<Output = T>;
}

impl Fetch for reqwest::RequestBuilder {
    async fn sent(self) -> reqwest::Response {
        self.send().await.expect("the request is answered")
    }

    async fn text_body(self) -> String {
        self.sent().await.text().await.expect("the answer is text")
    }

    async fn json_body<T: serde::de::DeserializeOwned>(self) -> T {
        self.sent().await.json().await.expect("the answer is JSON")
    }
}

/// Checks that `value` has exactly the properties `schema` (a `$ref` into the document's components, or an
/// inline schema) documents, recursively through documented objects.
pub fn assert_documented(document: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &document["components"]["schemas"][name]
        }
        None => schema,
    };
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{at}: {value} is not an object"));
    let documented: std::collections::BTreeSet<&String> = properties.keys().collect();
    let sent: std::collections::BTreeSet<&String> = object.keys().collect();
    assert_eq!(sent, documented, "{at}: sent and documented fields differ");
    for (name, property) in properties {
        assert_documented(document, property, &object[name], &format!("{at}.{name}"));
    }
}
