//! Several instances of the real binary on one PostgreSQL database, sharing the work, one of them killed
//! (SIGKILL) in the middle: every refresh must be done exactly once and every post target published
//! exactly once.

use crate::helpers::{postgres_url, wait_until, Fetch, PASSWORD};
use iquivity_domain::Platform;
use iquivity_platforms::PlatformSettings;
use iquivity_sandbox::{Consent, Sandbox, SandboxApp, SandboxOptions};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 1000;
const POSTS: usize = 3;
const TARGETS_PER_POST: usize = 100;
const CLIENT_ID: &str = "multi-instance-x";
const CLIENT_SECRET: &str = "multi-instance-x-secret";

/// A running `iquivity` process; killed (SIGKILL) when dropped, so a failing test leaves nothing behind.
pub(crate) struct Instance {
    pub(crate) child: Child,
    pub(crate) base: String,
    log: std::path::PathBuf,
    _data_dir: Option<tempfile::TempDir>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn log_tail(&self) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        let start = bytes.len().saturating_sub(4000);
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }
}

/// PostgreSQL for this test, or None (with a notice) when it cannot be reached and is not required.
pub(crate) async fn postgres_or_skip() -> Option<String> {
    let url = postgres_url();
    match PgConnection::connect(&url).await {
        Ok(conn) => {
            let _ = conn.close().await;
            Some(url)
        }
        Err(err) if std::env::var("IQUIVITY_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("IQUIVITY_REQUIRE_POSTGRES=1 but PostgreSQL at {url} cannot be reached: {err}")
        }
        Err(err) => {
            crate::helpers::announce_skip(&format!(
                "PostgreSQL at {url} cannot be reached ({err})"
            ));
            None
        }
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the real binary on `port` with its data under `data_dir` (kept by the caller, so that a
/// restarted instance finds what the last one left) and `env` on top of an otherwise empty environment.
/// Its log goes to a file in `data_dir` named after the port.
pub(crate) fn spawn_binary(
    port: u16,
    data_dir: &std::path::Path,
    env: &[(&str, String)],
) -> Instance {
    let log = data_dir.join(format!("instance-{port}.log"));
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_iquivity"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("IQUIVITY_LISTEN", format!("127.0.0.1:{port}"))
        .env("IQUIVITY_DATA_DIR", data_dir.join("data"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap();
    Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
        _data_dir: None,
    }
}

fn start_instance(
    port: u16,
    public_url: &str,
    database_url: &str,
    x: &PlatformSettings,
) -> Instance {
    let data_dir = tempfile::tempdir().unwrap();
    let mut instance = spawn_binary(
        port,
        data_dir.path(),
        &[
            ("IQUIVITY_PUBLIC_URL", public_url.to_string()),
            ("IQUIVITY_DATABASE_URL", database_url.to_string()),
            // One key for all: any instance must open what another sealed.
            (
                "IQUIVITY_ENCRYPTION_KEY",
                "bXVsdGktaW5zdGFuY2UtdGVzdC1rZXktMzItYnl0ZXM=".to_string(),
            ),
            ("IQUIVITY_JOB_LEASE_SECS", "12".to_string()),
            ("IQUIVITY_PLATFORM_TIMEOUT_SECS", "5".to_string()),
            ("IQUIVITY_LOG", "warn,iquivity=info".to_string()),
            ("IQUIVITY_X_CLIENT_ID", CLIENT_ID.to_string()),
            ("IQUIVITY_X_CLIENT_SECRET", CLIENT_SECRET.to_string()),
            ("IQUIVITY_X_AUTHORIZE_URL", x.authorize_url.clone()),
            ("IQUIVITY_X_TOKEN_URL", x.token_url.clone()),
            ("IQUIVITY_X_REVOKE_URL", x.revoke_url.clone()),
            ("IQUIVITY_X_API_URL", x.api_url.clone()),
        ],
    );
    instance._data_dir = Some(data_dir);
    instance
}

pub(crate) async fn wait_until_up(instance: &mut Instance) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = reqwest::get(instance.url("/healthz")).await {
            if response.status().is_success() {
                return;
            }
        }
        if let Ok(Some(status)) = instance.child.try_wait() {
            panic!("instance exited with {status}: {}", instance.log_tail());
        }
        assert!(
            Instant::now() < deadline,
            "instance never answered: {}",
            instance.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The local ports of the process's TCP connections to the server at `base` (`http://127.0.0.1:PORT`),
/// from Linux's /proc: its socket inodes, found in the connection table.
fn ports_connected_to(pid: u32, base: &str) -> BTreeSet<u16> {
    let server_port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    let port =
        |address: &str| u16::from_str_radix(address.rsplit(':').next().unwrap(), 16).unwrap();
    let mut ports = BTreeSet::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 9 && port(fields[2]) == server_port && inodes.contains(fields[9]) {
                ports.insert(port(fields[1]));
            }
        }
    }
    ports
}

async fn scalar(db: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

/// Connects one X account through `start` (any instance); the platform sends the person back to the public
/// URL, which is another instance: the flow's state lives in the database.
async fn connect(client: &reqwest::Client, start: &str, token: &str, person: String) -> String {
    let started: Value = client
        .post(format!("{start}/api/v1/connections"))
        .bearer_auth(token)
        .json(&json!({"platform": "x"}))
        .json_body()
        .await;
    let consent = Consent {
        user: Some(person),
        ..Consent::default()
    };
    let back = iquivity_sandbox::consent(started["authorize_url"].as_str().unwrap(), &consent)
        .await
        .unwrap();
    client.get(&back).sent().await;
    let connection: Value = client
        .get(format!(
            "{start}/api/v1/connections/{}",
            started["id"].as_str().unwrap()
        ))
        .bearer_auth(token)
        .json_body()
        .await;
    assert_eq!(connection["stage"], "done", "{connection}");
    connection["connected"][0].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_the_work_and_one_killed_midway_loses_and_repeats_nothing() {
    let Some(postgres) = postgres_or_skip().await else {
        return;
    };
    let database_url = iquivity_store::postgres::create_scratch_schema(&postgres, "iqm")
        .await
        .unwrap();
    let ports = [free_port(), free_port(), free_port()];
    // Behind a load balancer every instance has the same public address; here it is the first one's.
    let public_url = format!("http://127.0.0.1:{}", ports[0]);
    let sandbox = Arc::new(
        Sandbox::start(
            vec![(
                Platform::X,
                SandboxApp::new(Platform::X, CLIENT_ID, CLIENT_SECRET, &public_url),
            )],
            SandboxOptions::default(),
        )
        .await
        .unwrap(),
    );
    let sandbox_base = sandbox.base_url(Platform::X).unwrap();
    let x = PlatformSettings::real(Platform::X).rebased(&sandbox_base);
    let mut instances: Vec<Instance> = ports
        .iter()
        .map(|port| start_instance(*port, &public_url, &database_url, &x))
        .collect();
    for instance in &mut instances {
        wait_until_up(instance).await;
    }
    let mut db = PgConnection::connect(&database_url).await.unwrap();
    let began = Instant::now();

    // A workspace with room for everything, and an API token.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let signed_up = client
        .post(instances[1].url("/api/v1/auth/signup"))
        .json(&json!({"email": "agency@example.com", "password": PASSWORD, "workspace_name": "Agency"}))
        .sent().await;
    assert_eq!(signed_up.status(), 201);
    let token: Value = client
        .post(instances[2].url("/api/v1/tokens"))
        .json(&json!({"name": "multi-instance"}))
        .json_body()
        .await;
    let token = token["token"].as_str().unwrap().to_string();
    sqlx::query("UPDATE workspaces SET plan = 'enterprise'")
        .execute(&mut db)
        .await
        .unwrap();

    // 1,000 accounts, each connection started on one instance in turn and finished on the public one.
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let mut connecting = tokio::task::JoinSet::new();
    let lanes = 8;
    for lane in 0..lanes {
        let (client, token, bases) = (client.clone(), token.clone(), bases.clone());
        connecting.spawn(async move {
            let mut ids = Vec::new();
            for n in (lane..ACCOUNTS).step_by(lanes) {
                let start = &bases[n % bases.len()];
                ids.push(connect(&client, start, &token, format!("Person {n:04}")).await);
            }
            ids
        });
    }
    let mut accounts = Vec::new();
    while let Some(ids) = connecting.join_next().await {
        accounts.extend(ids.unwrap());
    }
    accounts.sort();
    assert_eq!(accounts.len(), ACCOUNTS);
    eprintln!("{:?}: {ACCOUNTS} accounts connected", began.elapsed());

    // 300 targets: three posts to 100 accounts each, through different instances.
    let publish_at = chrono::Utc::now() + chrono::Duration::seconds(3);
    for (n, chunk) in accounts.chunks(TARGETS_PER_POST).take(POSTS).enumerate() {
        let response = client
            .post(bases[n % bases.len()].clone() + "/api/v1/posts")
            .bearer_auth(&token)
            .json(&json!({
                "text": format!("Campaign post {n}"),
                "accounts": chunk,
                "publish_at": publish_at.to_rfc3339(),
            }))
            .sent()
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }

    // Every token due now; each platform call takes 100 ms, so the work lasts long enough to kill midway.
    sandbox.set_latency(Duration::from_millis(100));
    let now = chrono::Utc::now().timestamp_micros();
    sqlx::query("UPDATE accounts SET next_refresh_at = $1")
        .bind(now)
        .execute(&mut db)
        .await
        .unwrap();

    let refreshed_sql = "SELECT COUNT(*) FROM jobs WHERE kind = 'refresh' AND done_at IS NOT NULL";
    let deadline = Instant::now() + Duration::from_secs(60);
    while scalar(&mut db, refreshed_sql).await < (ACCOUNTS / 4) as i64 {
        assert!(Instant::now() < deadline, "the refreshes never got going");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Kill the instance holding the most work. The platform holds every request first, so that the one
    // killed has no answer in flight that it would lose: what it sent is dropped unanswered, as a platform
    // that never got it, and what it had claimed waits for its leases to run out.
    eprintln!(
        "{:?}: holding the platform, to kill an instance",
        began.elapsed()
    );
    sandbox.hold(true);
    // What was already past the hold is answered; from then on nothing reaches the platform.
    wait_until("the platform to answer what it was acting on", || async {
        sandbox.acting(Platform::X) == Some(0)
    })
    .await;
    // An instance that has just read an answer still has to store it (a renewal's rotated tokens, a
    // post's id) before its next request reaches the hold: killing it in between would lose what the
    // platform did, which is not what this test is about. Every instance is blocked once no new request
    // has come to the hold for a while.
    let mut settled = 0;
    let mut held = sandbox.held(Platform::X);
    while settled < 3 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = sandbox.held(Platform::X);
        settled = if now == held { settled + 1 } else { 0 };
        held = now;
    }
    let owners = sqlx::query(
        "SELECT lease_owner, COUNT(*) FROM (SELECT lease_owner FROM jobs WHERE done_at IS NULL \
         UNION ALL SELECT lease_owner FROM post_targets WHERE state = 'publishing') AS claimed \
         WHERE lease_owner IS NOT NULL GROUP BY lease_owner ORDER BY 2 DESC",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let busiest: String = owners.first().expect("some work is claimed").get(0);
    let claimed_by_victim: i64 = owners[0].get(1);
    let victim = instances
        .iter()
        .position(|i| busiest.starts_with(&format!("worker-{}-", i.child.id())))
        .unwrap_or_else(|| panic!("no instance owns {busiest}"));
    let killed = instances.remove(victim);
    let victims_ports = ports_connected_to(killed.child.id(), &sandbox_base);
    assert!(
        !victims_ports.is_empty(),
        "the busiest instance is connected to the platform"
    );
    drop(killed);
    // Its held requests are dropped once the platform sees their connections close; let go before
    // that, and the platform would act on requests whose answers no one reads.
    wait_until(
        "the platform to drop the killed instance's requests",
        || async {
            let held = sandbox.held_from(Platform::X).unwrap_or_default();
            held.iter()
                .all(|from| !victims_ports.contains(&from.port()))
        },
    )
    .await;
    sandbox.hold(false);
    assert!(claimed_by_victim > 0);

    // The survivors finish everything, taking over the dead instance's work once its leases run out.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let refreshed = scalar(&mut db, refreshed_sql).await;
        let published = scalar(
            &mut db,
            "SELECT COUNT(*) FROM post_targets WHERE state = 'published'",
        )
        .await;
        if refreshed == ACCOUNTS as i64 && published == (POSTS * TARGETS_PER_POST) as i64 {
            break;
        }
        let stuck = sqlx::query("SELECT state, COUNT(*) FROM post_targets GROUP BY state")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
            .collect::<Vec<_>>();
        assert!(
            Instant::now() < deadline,
            "unfinished: {refreshed} refreshed, targets {stuck:?}; logs: {}",
            instances
                .iter()
                .map(Instance::log_tail)
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    eprintln!("{:?}: all done", began.elapsed());
    // Refreshes: exactly one per account on the platform (X rotates refresh tokens, so a second would have
    // been refused and the account broken), one finished job and one "refreshed" event each, all active.
    let state: Value = reqwest::get(format!("{sandbox_base}/_sandbox/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["tokens"]["rotated"], ACCOUNTS, "{}", state["tokens"]);
    assert_eq!(
        scalar(
            &mut db,
            "SELECT COUNT(*) FROM (SELECT account_id FROM jobs WHERE kind = 'refresh' \
             GROUP BY account_id HAVING COUNT(*) <> 1 OR COUNT(done_at) <> 1) AS odd"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &mut db,
            "SELECT COUNT(*) FROM accounts a WHERE (SELECT COUNT(*) FROM audit_events e \
             WHERE e.account_id = a.id AND e.kind = 'refreshed') <> 1"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &mut db,
            "SELECT COUNT(*) FROM accounts WHERE status = 'active'"
        )
        .await,
        ACCOUNTS as i64
    );

    // Targets: each published once on the platform, under the id the service recorded.
    let on_platform: BTreeMap<(String, String), Vec<String>> = state["posts"]
        .as_array()
        .unwrap()
        .iter()
        .fold(BTreeMap::new(), |mut posts, p| {
            posts
                .entry((
                    p["author"].as_str().unwrap().into(),
                    p["text"].as_str().unwrap().into(),
                ))
                .or_insert_with(Vec::new)
                .push(p["id"].as_str().unwrap().into());
            posts
        });
    assert_eq!(on_platform.len(), POSTS * TARGETS_PER_POST);
    assert!(
        on_platform.values().all(|ids| ids.len() == 1),
        "a post was made twice"
    );
    let recorded = sqlx::query(
        "SELECT a.platform_account_id, p.text, t.platform_post_id FROM post_targets t \
         JOIN accounts a ON a.id = t.account_id JOIN posts p ON p.id = t.post_id",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let recorded: BTreeSet<(String, String, String)> = recorded
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let made: BTreeSet<(String, String, String)> = on_platform
        .into_iter()
        .map(|((author, text), ids)| (author, text, ids[0].clone()))
        .collect();
    assert_eq!(recorded, made);

    // And the dead instance's work really was taken over by another.
    assert!(
        scalar(
            &mut db,
            "SELECT (SELECT COUNT(*) FROM jobs WHERE attempts > 1) \
             + (SELECT COUNT(*) FROM post_targets WHERE attempts > 1)"
        )
        .await
            > 0,
        "nothing was taken over"
    );
}
