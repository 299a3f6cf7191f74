//! (f) The calendar's month view with 10,000 posts in the workspace: the API's read of a month and the
//! month page, on each backend, the real server on a loopback port. Posts are written through the store as
//! the composer writes them (one to three accounts each, spread over six months around today), so the
//! measured month holds about a sixth of them.

use crate::db::{Backend, Database};
use crate::report::{quantile, Headline, Section, Table};
use crate::serving::Serving;
use crate::{seed, Options};
use anyhow::Context;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use iquivity_domain::{AccountId, Platform};
use iquivity_store::{PostRecord, TargetRecord, TargetState};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Instant;

/// The target: the month view answers within this, at the median.
const TARGET_MS: f64 = 100.0;
/// Requests per figure, one after another, so that each is timed alone (no queueing behind another).
const REQUESTS: usize = 200;
/// Accounts the posts go to.
const ACCOUNTS: usize = 60;

/// What was measured on one backend.
pub struct Measured {
    backend: Backend,
    posts: usize,
    items_in_month: usize,
    seconds_to_seed: f64,
    api: (f64, f64),
    page: (f64, f64),
}

/// One post of the data set: `n`-th of `count`, spread evenly over 90 days either side of now, to one to
/// three accounts; past ones published (one in twenty failed), future ones scheduled.
fn post(
    n: usize,
    count: usize,
    caller: &iquivity_core::Caller,
    accounts: &[(AccountId, Platform)],
) -> PostRecord {
    let now = Utc::now();
    let span = Duration::days(180).num_seconds();
    let offset = span * n as i64 / count as i64 - span / 2;
    let publish_at = now + Duration::seconds(offset);
    let id = uuid::Uuid::now_v7();
    let targets = (0..1 + n % 3)
        .map(|k| {
            let (account, platform) = accounts[(n * 7 + k * 13) % accounts.len()];
            let mut target = TargetRecord::scheduled(id, account, platform, publish_at);
            if publish_at < now {
                target.state = if n.is_multiple_of(20) {
                    TargetState::Failed
                } else {
                    TargetState::Published
                };
            }
            target
        })
        .collect();
    PostRecord {
        id,
        workspace_id: caller.workspace_id,
        author_id: Some(caller.user_id),
        text: format!(
            "Post number {n}: our news of the week, with a few words more to read like one."
        ),
        link: Some("https://example.com/news".into()),
        media: Vec::new(),
        privacy_level: None,
        publish_at,
        created_at: now,
        targets,
        draft_accounts: None,
        variants: Vec::new(),
        first_comment: None,
        thread: Vec::new(),
    }
}

/// Times `REQUESTS` GETs of `url`, after a warm-up; the p50 and p99 in milliseconds.
async fn time(url: &str, auth: (&str, &str)) -> anyhow::Result<(f64, f64)> {
    let client = reqwest::Client::new();
    let mut latencies = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS + 20 {
        let started = Instant::now();
        let answer = client.get(url).header(auth.0, auth.1).send().await?;
        let status = answer.status();
        let body = answer.bytes().await?;
        anyhow::ensure!(status.is_success(), "{url}: {status}");
        anyhow::ensure!(!body.is_empty(), "{url}: empty");
        if i >= 20 {
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    Ok((quantile(&latencies, 0.5), quantile(&latencies, 0.99)))
}

pub async fn measure(backend: Backend, posts: usize, o: &Options) -> anyhow::Result<Measured> {
    let (_dir, db, app) = Database::with_app(backend, &o.postgres_url).await?;
    let seeding = Instant::now();
    let session = crate::api::sign_up(&app, "calendar@example.com", "Calendar").await?;
    let caller = session.caller.clone();
    let owner = seed::Owner {
        workspace: caller.workspace_id,
        user: caller.user_id,
    };
    seed::accounts(&db, &app.core.vault, owner, 0, ACCOUNTS).await?;
    let token = app
        .core
        .create_api_token(&caller, "bench")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let bearer = format!("Bearer {}", token.token.expose_secret());
    let cookie = format!("iquivity_session={}", session.id.expose_secret());

    let app = Arc::new(app);
    let serving = Serving::start(app.clone()).await?;
    let base = serving.base.clone();

    let listed: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/accounts?limit=200"))
        .header("authorization", &bearer)
        .send()
        .await?
        .json()
        .await?;
    let accounts: Vec<(AccountId, Platform)> = listed["items"]
        .as_array()
        .context("the accounts list")?
        .iter()
        .map(|a| {
            Ok((
                a["id"].as_str().context("id")?.parse()?,
                a["platform"].as_str().context("platform")?.parse()?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(accounts.len() == ACCOUNTS, "{} accounts", accounts.len());
    for n in 0..posts {
        app.store
            .create_post(&post(n, posts, &caller, &accounts))
            .await?;
    }
    seed::analyze(&db).await?;
    let seconds_to_seed = seeding.elapsed().as_secs_f64();

    let today = Utc::now().date_naive();
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).context("month")?;
    let next = (first + Duration::days(32)).with_day(1).context("month")?;
    let api_url = format!("{base}/api/v1/calendar?from={first}&to={next}");
    let month: serde_json::Value = reqwest::Client::new()
        .get(&api_url)
        .header("authorization", &bearer)
        .send()
        .await?
        .json()
        .await?;
    let items_in_month = month["items"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(items_in_month > 0, "the month is empty: {month}");
    let api = time(&api_url, ("authorization", &bearer)).await?;
    let page = time(
        &format!("{base}/calendar?view=month&date={today}"),
        ("cookie", &cookie),
    )
    .await?;
    println!(
        "{}: calendar month, {items_in_month} items: API p50 {:.1} ms, page p50 {:.1} ms",
        backend.name(),
        api.0,
        page.0
    );

    serving.stop().await?;
    drop(app);
    db.remove().await?;
    Ok(Measured {
        backend,
        posts,
        items_in_month,
        seconds_to_seed,
        api,
        page,
    })
}

pub fn section(runs: &[Measured]) -> Section {
    let mut out = String::from("## (f) The calendar's month view\n\n");
    out.push_str(&format!(
        "One workspace of {ACCOUNTS} accounts and N posts written through the store as the composer writes \
         them: one to three accounts each, spread evenly over 90 days either side of today, past ones \
         published (one in twenty failed), future ones scheduled. The figures are the current month: the \
         API's read of it (`GET /api/v1/calendar?from&to`, one item per account a post goes to) and the month \
         page as a signed-in person gets it. {REQUESTS} requests each, one after another over loopback HTTP, \
         after 20 to warm up: each is timed alone, from the request sent to the last byte read, so the figure \
         is the server's time plus the loopback's.\n\n"
    ));
    let mut table = Table::new(&[
        "Backend",
        "posts",
        "items in the month",
        "seconds to seed",
        "API p50 (ms)",
        "API p99 (ms)",
        "page p50 (ms)",
        "page p99 (ms)",
        "target",
        "met",
    ]);
    let mut headlines = Vec::new();
    for r in runs {
        let worst = r.api.0.max(r.page.0);
        let met = if worst < TARGET_MS {
            format!("yes ({:.0} ms to spare)", TARGET_MS - worst)
        } else {
            format!("no: {:.0} ms over", worst - TARGET_MS)
        };
        table.row(vec![
            r.backend.name().into(),
            r.posts.to_string(),
            r.items_in_month.to_string(),
            format!("{:.0}", r.seconds_to_seed),
            format!("{:.2}", r.api.0),
            format!("{:.2}", r.api.1),
            format!("{:.2}", r.page.0),
            format!("{:.2}", r.page.1),
            format!("< {TARGET_MS:.0} ms at the median"),
            met.clone(),
        ]);
        headlines.push(Headline {
            figure: format!(
                "(f) calendar month view, {} posts in the workspace ({})",
                r.posts,
                r.backend.name()
            ),
            value: format!(
                "API {:.1} ms, page {:.1} ms (p50; {} items)",
                r.api.0, r.page.0, r.items_in_month
            ),
            target: format!("< {TARGET_MS:.0} ms"),
            met,
        });
    }
    out.push_str(&table.render());
    out.push('\n');
    Section {
        text: out,
        headlines,
    }
}
