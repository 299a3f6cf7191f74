//! The Markdown report: a header naming the machine and the commit, then one section per part.

use chrono::Utc;

/// A Markdown table.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Self {
        Table {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut out = format!("| {} |\n|", self.header.join(" | "));
        for _ in &self.header {
            out.push_str("---|");
        }
        out.push('\n');
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out
    }
}

/// Milliseconds with two decimals, or a dash where a percentile does not apply.
pub fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "—".into(), |v| format!("{v:.2}"))
}

/// The value at quantile `q` of `sorted` (ascending), nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .unwrap_or(0);
    format!(
        "{cores} cores ({cpu}), {:.0} GiB RAM",
        mem_kib as f64 / 1024.0 / 1024.0
    )
}

pub fn commit() -> String {
    // Asked of the repository this benchmark was built from, wherever it runs.
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let hash = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // Uncommitted changes to the code being measured make the hash a lie; say so.
    let dirty = git(&[
        "status",
        "--porcelain",
        "--",
        "crates",
        "bench/src",
        "Cargo.toml",
    ])
    .is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{hash} (with uncommitted changes)")
    } else {
        hash
    }
}

/// The load average when the run started: other work on the machine shows in every figure.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

pub fn header(command: &str) -> String {
    format!(
        "# Performance report\n\n\
         - Date: {}\n- Commit: {}\n- Machine: {}\n- Load average at the start (1, 5, 15 min): {}\n\
         - Command: `{command}`\n\n\
         Every figure is measured end to end on this one machine: the service, its database, the \
         platform sandbox and the load generator share its cores, so each competes with the others \
         for CPU. Latencies are what the client saw. \"Met\" compares with the target beside it; where \
         a target is missed, the section says by how much and what limits it.\n",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        commit(),
        machine(),
        load(),
    )
}

/// One line of the summary at the top: a figure, its target, and whether it was met.
pub struct Headline {
    pub figure: String,
    pub value: String,
    pub target: String,
    pub met: String,
}

/// A part's section of the report, with its lines for the summary.
pub struct Section {
    pub text: String,
    pub headlines: Vec<Headline>,
}

/// The summary table: every target in one place, each section below giving the detail.
pub fn summary(sections: &[Section]) -> String {
    let mut table = Table::new(&["Figure", "measured", "target", "met"]);
    for h in sections.iter().flat_map(|s| &s.headlines) {
        table.row(vec![
            h.figure.clone(),
            h.value.clone(),
            h.target.clone(),
            h.met.clone(),
        ]);
    }
    format!("## Summary\n\n{}", table.render())
}
