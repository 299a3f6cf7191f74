//! The lifecycle engine runs the jobs and publications of one round side by side, yet never more at once on
//! one platform than its limit: seen from the sandbox, which counts the requests it is answering. Accounts
//! are connected without latency; then the sandbox answers after 100 ms, so that work running side by side
//! overlaps there.

use chrono::Utc;
use iquivity_core::auth::SignUp;
use iquivity_core::connections::Callback;
use iquivity_core::lifecycle::LifecycleSettings;
use iquivity_core::posts::NewPost;
use iquivity_core::{Caller, Core, CoreSettings};
use iquivity_domain::{AccountId, Plan, Platform};
use iquivity_platforms::{PlatformSettings, Platforms};
use iquivity_sandbox::{Consent, Sandbox, SandboxApp, SandboxOptions};
use iquivity_vault::{KeySource, Vault};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const LIMIT: u32 = 4;
const CALLBACK_BASE: &str = "http://127.0.0.1:9";

struct Rig {
    core: Core,
    sandbox: Sandbox,
    caller: Caller,
    _dir: tempfile::TempDir,
}

/// A core on a fresh SQLite database whose X and TikTok run on the sandbox, with `LIMIT` slots each.
async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let platforms = [Platform::X, Platform::Tiktok];
    let apps: Vec<(Platform, SandboxApp)> = platforms
        .iter()
        .map(|p| {
            (
                *p,
                SandboxApp::new(*p, format!("engine-{p}"), "engine-secret", CALLBACK_BASE),
            )
        })
        .collect();
    let sandbox = Sandbox::start(apps.clone(), SandboxOptions::default())
        .await
        .unwrap();
    let settings: BTreeMap<Platform, PlatformSettings> = apps
        .iter()
        .map(|(p, app)| {
            let origin = sandbox.base_url(*p).unwrap();
            let settings =
                PlatformSettings::sandboxed(*p, &app.client_id, &app.client_secret, &origin);
            (*p, settings)
        })
        .collect();
    let store = iquivity_store::open(&format!(
        "sqlite://{}",
        dir.path().join("engine.db").display()
    ))
    .await
    .unwrap();
    let vault = Arc::new(Vault::load(KeySource::File(dir.path().join("keys.json"))).unwrap());
    let core = Core::new(
        store.clone(),
        vault,
        Platforms::new(settings, Platforms::DEFAULT_TIMEOUT),
        CoreSettings {
            callback_base: CALLBACK_BASE.into(),
            media_dir: dir.path().join("media"),
            lifecycle: LifecycleSettings {
                per_platform_concurrency: LIMIT,
                ..LifecycleSettings::default()
            },
            ..CoreSettings::default()
        },
    )
    .unwrap();
    let caller = core
        .sign_up(SignUp::owner(
            "engine@example.com",
            "correct horse battery staple",
            "Engine",
        ))
        .await
        .unwrap()
        .caller;
    assert!(store
        .set_plan(caller.workspace_id, Plan::Enterprise)
        .await
        .unwrap());
    Rig {
        core,
        sandbox,
        caller,
        _dir: dir,
    }
}

impl Rig {
    /// Connects `person` through the sandbox's consent, as "Add New Account" does.
    async fn connect(&self, platform: Platform, person: &str) -> AccountId {
        let started = self
            .core
            .start_connection(&self.caller, None, platform, None)
            .await
            .unwrap();
        let consent = Consent {
            user: Some(person.into()),
            ..Consent::default()
        };
        let approval = iquivity_sandbox::approve(&started.authorize_url, &consent)
            .await
            .unwrap();
        let flow = self
            .core
            .finish_connection(
                &self.caller,
                None,
                Callback::approved(
                    platform,
                    approval.state.as_deref(),
                    approval.code.as_deref(),
                ),
            )
            .await
            .unwrap();
        flow.connected[0]
    }

    /// The most requests each platform's server answered at once since the last look.
    fn peaks(&self) -> (u32, u32) {
        (
            self.sandbox.take_peak_in_flight(Platform::X).unwrap(),
            self.sandbox.take_peak_in_flight(Platform::Tiktok).unwrap(),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_runs_refreshes_and_publications_side_by_side_within_each_platforms_limit() {
    let rig = rig().await;
    let mut x_accounts = Vec::new();
    let mut accounts = Vec::new();
    for i in 0..12 {
        let x = rig.connect(Platform::X, &format!("X Person {i}")).await;
        x_accounts.push(x);
        accounts.push(x);
        accounts.push(
            rig.connect(Platform::Tiktok, &format!("Tok Person {i}"))
                .await,
        );
    }
    let now = Utc::now();
    for id in &accounts {
        rig.core
            .store
            .schedule_account(*id, Some(Some(now)), None)
            .await
            .unwrap();
    }
    rig.sandbox.set_latency(Duration::from_millis(100));
    rig.peaks();

    let report = rig.core.run_lifecycle_round("engine-test").await.unwrap();
    assert_eq!(report.done, 24, "every due refresh ran in the one round");
    assert!(!report.more_due, "24 jobs do not fill a batch");
    let (x, tiktok) = rig.peaks();
    assert!(
        (2..=LIMIT).contains(&x) && (2..=LIMIT).contains(&tiktok),
        "refreshes overlap on each platform, up to its {LIMIT} slots: X {x}, TikTok {tiktok}"
    );
    for id in &accounts {
        let account = rig.core.account(&rig.caller, *id).await.unwrap();
        assert!(account.last_refreshed_at.is_some_and(|at| at >= now));
    }

    rig.core
        .create_post(
            &rig.caller,
            NewPost {
                text: "Side by side".into(),
                link: None,
                media: Vec::new(),
                privacy_level: None,
                accounts: x_accounts,
                publish_at: None,
                variants: Vec::new(),
                first_comment: None,
                thread: Vec::new(),
            },
        )
        .await
        .unwrap();
    let report = rig.core.run_lifecycle_round("engine-test").await.unwrap();
    assert_eq!((report.published, report.publish_failed), (12, 0));
    let (x, tiktok) = rig.peaks();
    assert!(
        (2..=LIMIT).contains(&x),
        "publications overlap on X, up to its {LIMIT} slots: {x}"
    );
    assert_eq!(tiktok, 0, "nothing was posted to TikTok");
}
