//! Rules of the code's shape that a reader (and the next change) can rely on, checked by reading
//! the sources: they fail the build the moment a change breaks them.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

fn sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "actors/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "the source tree was not found from {}", root.display());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable source");
            (path.strip_prefix(root).map(Path::to_path_buf).unwrap_or(path), text)
        })
        .collect()
}

/// Time comes from the injected `Clock` (so tests can move it, and every part of a node agrees on
/// it); only the system clock itself reads the wall clock.
#[test]
fn only_the_clock_module_reads_the_wall_clock() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|(path, _)| !path.ends_with("actors/src/clock.rs"))
        .flat_map(|(path, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, line)| line.contains("Timestamp::now()"))
                .map(move |(number, line)| format!("{}:{}: {}", path.display(), number + 1, line.trim()))
        })
        .collect();
    assert!(offenders.is_empty(), "read the time from the injected Clock instead:\n{}", offenders.join("\n"));
}

/// Every source file is one a reader can hold: at most 800 lines (the ticket endpoints are split
/// by group, the live hub by concern, the SQL by port, the conversation actor from its registry).
#[test]
fn every_source_file_is_one_a_reader_can_hold() {
    let long: Vec<String> = sources()
        .iter()
        .map(|(path, text)| (path, text.lines().count()))
        .filter(|(_, lines)| *lines > 800)
        .map(|(path, lines)| format!("{} has {lines} lines", path.display()))
        .collect();
    assert!(long.is_empty(), "split these by what they do:\n{}", long.join("\n"));
}
