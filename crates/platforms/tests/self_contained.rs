//! The measure of "each platform a self-contained module": outside tests, the crates that use the platforms
//! (core, server, store and the binary) never name a particular platform; they read its descriptor and
//! iterate over `Platform::ALL`. Adding a network then touches its adapter, its sandbox module and the
//! `Platform` enum, not these crates.

use iquivity_domain::Platform;
use std::path::{Path, PathBuf};

const CRATES: [&str; 4] = ["core", "server", "store", "iquivity"];

#[test]
fn no_crate_outside_the_platforms_names_a_particular_platform() {
    let variants: Vec<String> = Platform::ALL
        .iter()
        .map(|p| format!("Platform::{p:?}"))
        .collect();
    let crates = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/ holds this crate");
    let mut found = Vec::new();
    let mut scanned = 0;
    for name in CRATES {
        for file in rust_files(&crates.join(name).join("src")) {
            scanned += 1;
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            for (n, line) in without_test_items(&text) {
                // `Platform::X` is a prefix of no other variant, so a word boundary is needed after it.
                let names_one = variants.iter().any(|v| {
                    line.match_indices(v.as_str()).any(|(at, _)| {
                        !line[at + v.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                    })
                });
                if names_one {
                    found.push(format!("{}:{}: {}", file.display(), n, line.trim()));
                }
            }
        }
    }
    assert!(
        scanned > 20,
        "only {scanned} files scanned: wrong directory?"
    );
    assert!(
        found.is_empty(),
        "these lines name a particular platform; put the fact in its descriptor (crates/platforms) instead:\n{}",
        found.join("\n")
    );
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The lines of a source file (numbered from 1) without the items marked `#[cfg(test)]`: from the attribute
/// to the brace that closes the item after it.
fn without_test_items(text: &str) -> Vec<(usize, &str)> {
    let mut kept = Vec::new();
    let mut skipping = false;
    let mut depth = 0i64;
    let mut opened = false;
    for (i, line) in text.lines().enumerate() {
        if !skipping && line.trim_start().starts_with("#[cfg(test)]") {
            skipping = true;
            depth = 0;
            opened = false;
            continue;
        }
        if skipping {
            for c in line.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            // An item without a body (`#[cfg(test)] use ...;`) ends at its semicolon.
            if (opened && depth <= 0) || (!opened && line.trim_end().ends_with(';')) {
                skipping = false;
            }
            continue;
        }
        kept.push((i + 1, line));
    }
    kept
}

#[test]
fn test_items_are_left_out_and_everything_else_is_kept() {
    let text =
        "a\n#[cfg(test)]\nmod tests {\n    fn f() { Platform::X }\n}\nb\n#[cfg(test)]\nuse x;\nc";
    let kept: Vec<&str> = without_test_items(text)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(kept, ["a", "b", "c"]);
}
