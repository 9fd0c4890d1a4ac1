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

/// The layers of `src/`, from the bottom: a module may import the ones below it, never the ones
/// above; the transports never import each other, and only the app (the composition root)
/// imports a transport. `channels` serve as a service (the inbox and outbound loops) and carry
/// their own webhook endpoints, which use the shared request pieces (`auth`, `error`), never
/// another transport.
const TRANSPORTS: [&str; 2] = ["http", "ws"];

/// Which `crate::…` module a line of `src/` imports or names, if any.
fn crate_modules(text: &str) -> Vec<String> {
    let mut modules = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if let Some(grouped) = after.strip_prefix('{') {
                // `use crate::{a, b::c}`: every name at the top of the group.
                let group = grouped.split('}').next().unwrap_or_default();
                modules.extend(group.split(',').filter_map(|part| part.trim().split("::").next()).map(str::to_owned));
            } else if !name.is_empty() {
                modules.push(name);
            }
            rest = after;
        }
    }
    modules
}

/// The top-level module of `src/` a file belongs to (`src/http/tickets/read.rs` → `http`).
fn top_module(path: &Path) -> Option<String> {
    let mut parts = path.strip_prefix("src").ok()?.components();
    let first = parts.next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

#[test]
fn transports_never_import_each_other_and_only_the_app_imports_them() {
    let mut offenders = Vec::new();
    for (path, text) in sources().iter().filter(|(path, _)| path.starts_with("src")) {
        let Some(module) = top_module(path) else { continue };
        if matches!(module.as_str(), "app" | "main" | "lib") {
            continue;
        }
        for imported in crate_modules(text) {
            let transport = TRANSPORTS.contains(&imported.as_str());
            if (transport && imported != module) || imported == "app" {
                offenders.push(format!("{} (in `{module}`) uses crate::{imported}", path.display()));
            }
        }
    }
    offenders.sort();
    offenders.dedup();
    assert!(
        offenders.is_empty(),
        "only the app wires transports together (see ARCHITECTURE.md, Invariants):\n{}",
        offenders.join("\n")
    );
}

/// Nothing names a central state of the whole server: handlers take the services they use.
#[test]
fn there_is_no_central_app_state() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|(_, text)| text.contains("AppState"))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "take the services a handler uses instead:\n{}", offenders.join("\n"));
}

#[test]
fn the_import_reader_sees_every_form() {
    let text =
        "use crate::http::Api;\nuse crate::{ws, live::Hub};\nlet x = crate::app::run;\n// crate::ws in a comment";
    assert_eq!(crate_modules(text), ["http", "ws", "live", "app"]);
    assert_eq!(top_module(Path::new("src/http/tickets/read.rs")).as_deref(), Some("http"));
    assert_eq!(top_module(Path::new("src/sessions.rs")).as_deref(), Some("sessions"));
}

/// The storage ports stay narrow (no trait over 20 methods, so a fake implements only what an
/// actor uses) and `Store` is only their sum: a new query goes on the port of its concern.
#[test]
fn ports_stay_narrow_and_store_is_only_their_sum() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("actors/src/store.rs")).expect("the ports");
    let mut ports: Vec<(String, usize)> = Vec::new();
    let mut current: Option<(String, usize)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("pub trait ") {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            current = Some((name, 0));
        } else if line == "}" {
            ports.extend(current.take());
        } else if let Some((_, methods)) = &mut current
            && (line.starts_with("    fn ") || line.starts_with("    async fn "))
        {
            *methods += 1;
        }
    }
    let store = ports.iter().find(|(name, _)| name == "Store").expect("the Store supertrait");
    assert_eq!(store.1, 0, "Store has methods of its own");
    let ports: Vec<&(String, usize)> = ports.iter().filter(|(name, _)| name.ends_with("Port")).collect();
    assert!(ports.len() >= 10, "the ports were not found: {ports:?}");
    let wide: Vec<String> =
        ports.iter().filter(|(_, methods)| *methods > 20).map(|(name, methods)| format!("{name}: {methods}")).collect();
    assert!(wide.is_empty(), "split these ports by concern:\n{}", wide.join("\n"));
}
