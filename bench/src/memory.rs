//! The server's resident memory: the real `iquivity` binary as a child process on a seeded database,
//! its list, summary and search API exercised, then VmRSS (and the peak, VmHWM) read from /proc.

use crate::db::Backend;
use crate::report::{Headline, Section, Table};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Resident memory must stay under this (MB).
const CEILING_MB: f64 = 200.0;

pub struct Memory {
    pub backend: Backend,
    pub accounts: usize,
    pub total_accounts: usize,
    pub requests: usize,
    pub rss_mb: f64,
    pub peak_mb: f64,
    pub idle_rss_mb: f64,
}

/// The server binary: beside this one (cargo builds both into one target directory), built first if
/// it is not there yet.
pub fn server_binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    let dir = std::env::current_exe()?
        .parent()
        .context("this binary has no directory")?
        .to_path_buf();
    let path = dir.join("iquivity");
    let profile = if dir.ends_with("release") {
        "--release"
    } else {
        "--profile=dev"
    };
    let target_dir = dir
        .parent()
        .context("this binary is not in a target directory")?;
    // Always asked, so that a stale binary is rebuilt; cargo answers at once when it is current.
    let built =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "build",
                profile,
                "-p",
                "iquivity",
                "--bin",
                "iquivity",
                "--target-dir",
            ])
            .arg(target_dir)
            .status()
            .context("cannot run cargo to build the server")?;
    anyhow::ensure!(built.success(), "building the server failed");
    anyhow::ensure!(
        path.exists(),
        "{} is missing after the build",
        path.display()
    );
    Ok(path)
}

/// Kills the child when dropped, so that a failed run leaves no server behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        if let Err(err) = self.0.kill() {
            eprintln!("cannot stop the server process: {err}");
        }
        let _ = self.0.wait();
    }
}

/// (VmRSS, VmHWM) of a process, in MB (10^6 bytes, as the target is stated).
fn resident(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map(|kib| kib * 1024.0 / 1e6)
            .with_context(|| format!("{name} missing from /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// A seeded database to run the server on.
pub struct Seeded<'a> {
    pub backend: Backend,
    pub database_url: &'a str,
    /// Where the key file that sealed its credentials is.
    pub data_dir: &'a Path,
    /// An API token of the measured workspace.
    pub token: &'a str,
    pub accounts: usize,
    pub total_accounts: usize,
}

/// Runs the server on the seeded database and measures it after `requests` requests.
pub async fn measure(
    binary: &Path,
    seeded: &Seeded<'_>,
    requests: usize,
) -> anyhow::Result<Memory> {
    let Seeded {
        backend,
        database_url,
        data_dir,
        token,
        accounts,
        total_accounts,
    } = *seeded;
    // Its own data directory (the in-process service's sandbox state stays where it is), with the keys.
    let own = tempfile::tempdir()?;
    let own_data = own.path().join("data");
    std::fs::create_dir_all(&own_data)?;
    std::fs::copy(data_dir.join("keys.json"), own_data.join("keys.json"))
        .context("copying the key file")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Child(
        std::process::Command::new(binary)
            .arg("serve")
            .env("IQUIVITY_DATA_DIR", &own_data)
            .env("IQUIVITY_DATABASE_URL", database_url)
            .env("IQUIVITY_LISTEN", format!("127.0.0.1:{port}"))
            .env("IQUIVITY_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?,
    );
    let pid = child.0.id();
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "the server did not answer /healthz within two minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (idle_rss_mb, _) = resident(pid)?;

    // What a busy dashboard asks for: pages of the list (walking on with the cursor), the summary,
    // searches and filters, from four clients at once.
    let paths = [
        "/api/v1/accounts?limit=200",
        "/api/v1/accounts/summary",
        "/api/v1/accounts?q=carte",
        "/api/v1/accounts?q=mason%20porter",
        "/api/v1/accounts?platform=x&status=failed&sort=name",
        "/api/v1/accounts?q=zzzz",
        "/api/v1/accounts?sort=-name&limit=200",
    ];
    let per_client = requests / 4;
    let mut clients = Vec::new();
    for c in 0..4 {
        let (client, base, token) = (client.clone(), base.clone(), token.to_string());
        clients.push(tokio::spawn(async move {
            // Where each path's list has got to: a cursor belongs to its own query.
            let mut cursors: Vec<Option<String>> = vec![None; paths.len()];
            for i in 0..per_client {
                let which = (i + c) % paths.len();
                let path = paths[which];
                let url = match &cursors[which] {
                    Some(cursor) => format!("{base}{path}&cursor={cursor}"),
                    None => format!("{base}{path}"),
                };
                let page: serde_json::Value = client
                    .get(url)
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                cursors[which] = page["next_cursor"].as_str().map(str::to_string);
            }
            anyhow::Ok(())
        }));
    }
    for c in clients {
        c.await??;
    }
    let (rss_mb, peak_mb) = resident(pid)?;
    drop(child);
    println!(
        "{} server with {total_accounts} accounts: {rss_mb:.0} MB resident (peak {peak_mb:.0} MB, {idle_rss_mb:.0} MB before requests)",
        backend.name()
    );
    Ok(Memory {
        backend,
        accounts,
        total_accounts,
        requests: per_client * 4,
        rss_mb,
        peak_mb,
        idle_rss_mb,
    })
}

pub fn section(results: &[Memory]) -> Section {
    let mut out = String::from("## (c) Resident memory of the server\n\n");
    out.push_str(
        "The real `iquivity` binary, started as a child process on the seeded database (its own data \
         directory, so its own platform sandbox, and the lifecycle engine running), then asked for list \
         pages (walking on with the cursor), the summary, searches and filters by four clients at once. \
         VmRSS is read from `/proc/<pid>/status` after the requests; VmHWM is the peak over the process's \
         life. For PostgreSQL the database's own memory is in its server processes, not counted here.\n\n",
    );
    let mut table = Table::new(&[
        "Backend",
        "accounts in the database",
        "requests",
        "RSS before requests (MB)",
        "RSS after (MB)",
        "peak (MB)",
        "target",
        "met",
    ]);
    let mut headlines = Vec::new();
    for m in results {
        let met = if m.peak_mb < CEILING_MB {
            format!(
                "yes ({:.0}% of the ceiling at peak)",
                m.peak_mb / CEILING_MB * 100.0
            )
        } else {
            format!(
                "no: peak {:.0} MB is {:.2}x the ceiling",
                m.peak_mb,
                m.peak_mb / CEILING_MB
            )
        };
        headlines.push(Headline {
            figure: format!(
                "(c) server memory, {} accounts in the database ({})",
                m.total_accounts,
                m.backend.name()
            ),
            value: format!("{:.0} MB resident, peak {:.0} MB", m.rss_mb, m.peak_mb),
            target: format!("< {CEILING_MB:.0} MB"),
            met: met.clone(),
        });
        table.row(vec![
            m.backend.name().to_string(),
            format!(
                "{} ({} in the measured workspace)",
                m.total_accounts, m.accounts
            ),
            m.requests.to_string(),
            format!("{:.0}", m.idle_rss_mb),
            format!("{:.0}", m.rss_mb),
            format!("{:.0}", m.peak_mb),
            format!("< {CEILING_MB:.0} MB"),
            met,
        ]);
    }
    out.push_str(&table.render());
    out.push('\n');
    Section {
        text: out,
        headlines,
    }
}
