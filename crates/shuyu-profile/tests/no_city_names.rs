//! Invariant: no city name in Rust code. A rule that differs between cities is a profile key, never
//! `if city == …`. The one exception is the list of built-in profile files in
//! `crates/shuyu-profile/src/builtin.rs` (its `include_str!` lines).
//!
//! Scanned: every `.rs` file under `crates/`, with comments removed (doc comments may explain a
//! regulation). Not scanned, since tests load profiles by name: `tests/` directories, test module
//! files (`tests.rs`, `*_tests.rs`), and everything from a file's first `#[cfg(test)]` line on (inline
//! test modules sit at the bottom of a file).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::path::{Path, PathBuf};

const CITY_NAMES: &[&str] = &[
    "weihai",
    "zhongwei",
    "changchun",
    "futian",
    "qiqihar",
    "威海",
    "中卫",
    "长春",
    "福田",
    "齐齐哈尔",
];

/// The only lines allowed to name a city: the built-in file list.
const BUILTIN_LIST_FILE: &str = "shuyu-profile/src/builtin.rs";
const BUILTIN_LIST_LINE: &str = "include_str!(\"../../../profiles/";

#[test]
fn no_city_name_in_rust_code() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&crates, &mut files);
    let this_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
    assert!(
        files.iter().any(|f| same_file(f, &this_file)),
        "the scan must see this crate's own lib.rs; it saw {files:?}"
    );

    let mut found = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let shown = file
            .strip_prefix(&crates)
            .unwrap_or(file)
            .display()
            .to_string();
        let is_list_file = shown.replace('\\', "/") == BUILTIN_LIST_FILE;
        for (number, line) in code_lines(&text) {
            if is_list_file && line.contains(BUILTIN_LIST_LINE) {
                continue;
            }
            let lower = line.to_lowercase();
            if let Some(name) = CITY_NAMES.iter().find(|n| lower.contains(*n)) {
                found.push(format!("{shown}:{number}: `{name}` in `{}`", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "city names in Rust code (put the rule in the profiles, cited):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_names_in_code_and_strings_but_not_in_comments() {
    let src = "/// 威海 explained\nfn a() { let x = \"Weihai\"; } // weihai\n/* futian */ let c = '\"';\n\
               let r = r#\"a \" qiqihar\"#;\nenum E { Changchun }\n#[cfg(test)]\nmod tests { \"zhongwei\" }\n";
    let lines: Vec<(usize, String)> = code_lines(src)
        .into_iter()
        .filter(|(_, l)| CITY_NAMES.iter().any(|n| l.to_lowercase().contains(n)))
        .collect();
    let numbers: Vec<usize> = lines.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, vec![2, 4, 5], "{lines:?}");
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Every `.rs` file under `dir` that is not test code, skipping `target`, `tests` and hidden
/// directories.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "target" && name != "tests" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs") {
            out.push(path);
        }
    }
}

/// The lines of a Rust file with comments blanked out, numbered from 1, up to the first
/// `#[cfg(test)]` line. String and char literals are kept (a name in a string is logic too), and
/// their contents cannot open or close a comment.
fn code_lines(src: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = src.chars().collect();
    let mut code = String::with_capacity(src.len());
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        code.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && (at(i + 1) == '"' || (at(i + 1) == '#' && at(i + 2) != '[')) {
            // Raw string r"…" or r#"…"#: ends at a quote followed by the same number of hashes.
            let start = i;
            i += 1;
            let mut hashes = 0;
            while at(i) == '#' {
                hashes += 1;
                i += 1;
            }
            if at(i) != '"' {
                // r#ident (raw identifier), not a string.
                code.extend(&chars[start..i]);
                continue;
            }
            i += 1;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            code.extend(&chars[start..i.min(chars.len())]);
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            code.extend(&chars[start..i.min(chars.len())]);
        } else if c == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            // A char literal ('"', '\'', 'x'); otherwise a lifetime, copied as is.
            let start = i;
            i += 1;
            if at(i) == '\\' {
                i += 1;
            }
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            code.extend(&chars[start..i.min(chars.len())]);
        } else {
            code.push(c);
            i += 1;
        }
    }
    code.lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.to_owned()))
        .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
        .collect()
}
