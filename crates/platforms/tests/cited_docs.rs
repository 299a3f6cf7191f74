//! Every platform fact the code cites must be in the repository: each `docs/platforms/<name>.md §N.M` and
//! `docs/product.md#anchor` in a source comment names a file that exists and a section it has. A comment
//! that cites a section nobody wrote (or one renumbered away) fails here instead of misleading a reader.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/platforms sits two levels below the repository root")
        .to_path_buf()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, found);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The anchor GitHub gives a heading: lower case, spaces to hyphens, other punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn headings(doc: &str) -> Vec<&str> {
    doc.lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .collect()
}

/// `§2`, `§3.1`: a section number right after `§`.
fn section_at(text: &str) -> Option<&str> {
    let rest = text.strip_prefix('§')?;
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let number = rest[..end].trim_end_matches('.');
    (!number.is_empty()).then_some(number)
}

/// Whether the page has section `number`: a heading `N.M …`, or for a bare `N` any heading `N.…`.
fn has_section(doc: &str, number: &str) -> bool {
    headings(doc)
        .iter()
        .any(|h| h.starts_with(&format!("{number} ")) || h.starts_with(&format!("{number}.")))
}

#[test]
fn every_cited_doc_and_section_exists() {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in ["crates", "bench"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut cited = 0;
    let mut missing = Vec::new();
    for file in &files {
        // This file names the forms it checks, not sections.
        if file.ends_with("platforms/tests/cited_docs.rs") {
            continue;
        }
        let Ok(source) = std::fs::read_to_string(file) else {
            continue;
        };
        for (index, line) in source.lines().enumerate() {
            let place = format!("{}:{}", file.display(), index + 1);
            let mut rest = line;
            while let Some(at) = rest.find("docs/") {
                rest = &rest[at..];
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == ')' || c == ',' || c == ';')
                    .unwrap_or(rest.len());
                let reference = rest[..end].trim_end_matches(['.', ':', '`']);
                let after = &rest[end..];
                rest = &rest[end..];
                let (path, anchor) = match reference.split_once('#') {
                    Some((path, anchor)) => (path, Some(anchor)),
                    None => (reference, None),
                };
                if !path.ends_with(".md") {
                    continue;
                }
                cited += 1;
                let Ok(doc) = std::fs::read_to_string(root.join(path)) else {
                    missing.push(format!("{place}: {path} does not exist"));
                    continue;
                };
                if let Some(anchor) = anchor {
                    if !headings(&doc).iter().any(|h| slug(h) == anchor) {
                        missing.push(format!("{place}: {path} has no heading #{anchor}"));
                    }
                }
                // "docs/platforms/instagram.md §3.1, §3.3": every section listed after the file.
                let mut tail = after.trim_start();
                while let Some(number) = section_at(tail) {
                    if !has_section(&doc, number) {
                        missing.push(format!("{place}: {path} has no section {number}"));
                    }
                    tail = tail[number.len() + '§'.len_utf8()..].trim_start();
                    tail = tail.strip_prefix(',').unwrap_or(tail).trim_start();
                }
            }
        }
    }
    assert!(
        cited > 40,
        "only {cited} citations found: is the scan looking in the right place?"
    );
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
