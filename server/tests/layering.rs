//! The code's layering, checked from the source text: the server's top-level modules import
//! each other without cycles, and the app's layers depend one way only
//! (`format` ← `domain` ← `model` ← `service` ← `api`, `i18n` ← `pages`/`components`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The top-level module a file belongs to (`routes` for `src/routes/guard.rs` and for
/// `src/routes.rs`); `None` for the crate root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative.components().next()?.as_os_str().to_str()?.to_owned();
    let name = first.trim_end_matches(".rs").to_owned();
    (!matches!(name.as_str(), "lib" | "main")).then_some(name)
}

/// The top-level modules a file names as `crate::NAME`, outside comments.
fn imports(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            // `app::service::...` from another crate is not `crate::`.
            let before = code[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if modules.contains(&name) {
                found.insert(name);
            }
        }
        // `use crate::{a, b::c}`: each name in the braces.
        if let Some(group) = code.split("crate::{").nth(1) {
            for part in group.split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if modules.contains(&name) {
                    found.insert(name);
                }
            }
        }
    }
    found
}

/// Module → the other top-level modules it imports.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = sources(src);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(src, file) else { continue };
        let text = std::fs::read_to_string(file).expect("readable source");
        let entry = edges.entry(from.clone()).or_default();
        entry.extend(imports(&text, &modules).into_iter().filter(|to| *to != from));
    }
    edges
}

/// A cycle in `edges`, if there is one, as the modules along it.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

#[test]
fn the_servers_modules_import_each_other_without_cycles() {
    let edges = graph(&crate_src("src"));
    assert!(edges.contains_key("routes") && edges.contains_key("auth"), "the scan found the modules: {edges:?}");
    assert_eq!(find_cycle(&edges), None, "import graph: {edges:#?}");
}

#[test]
fn the_apps_layers_depend_one_way() {
    let layer = |module: &str| match module {
        "format" => 0,
        "domain" => 1,
        "model" => 2,
        "service" => 3,
        // The interface's texts: read by the pages and components, reading the domain's labels.
        "api" | "i18n" => 4,
        "pages" | "components" => 5,
        other => panic!("module `{other}` has no layer; add it to this test"),
    };
    let edges = graph(&crate_src("../app/src"));
    assert!(edges.contains_key("service"), "the scan found the app's modules: {edges:?}");
    let upward: Vec<String> = edges
        .iter()
        .flat_map(|(from, tos)| tos.iter().map(move |to| (from.clone(), to.clone())))
        .filter(|(from, to)| layer(to) > layer(from))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    assert!(upward.is_empty(), "imports against the layering: {upward:?}");
}

#[test]
fn only_the_apps_services_touch_the_database_dicom_and_object_store() {
    let src = crate_src("../app/src");
    let service = src.join("service");
    let reaching: Vec<String> = sources(&src)
        .into_iter()
        .filter(|file| !file.starts_with(&service))
        .filter(|file| {
            let text = std::fs::read_to_string(file).expect("readable source");
            text.lines().map(|l| l.split("//").next().unwrap_or_default()).any(|code| {
                ["elysium_db::", "elysium_dicom::", "object_store::", "sqlx::query"].iter().any(|c| code.contains(c))
            })
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(reaching.is_empty(), "outside app/src/service: {reaching:?}");
}

#[test]
fn the_checks_catch_what_they_look_for() {
    let modules: BTreeSet<String> = ["auth", "routes", "state"].map(str::to_owned).into();
    let text =
        "use crate::auth::x;\n// crate::state in a comment\nuse crate::{routes::a, auth};\nlet y = app::crate_like();";
    assert_eq!(imports(text, &modules), ["auth", "routes"].map(str::to_owned).into());
    let cyclic: BTreeMap<String, BTreeSet<String>> = [
        ("auth".to_owned(), ["state".to_owned()].into()),
        ("state".to_owned(), ["routes".to_owned()].into()),
        ("routes".to_owned(), ["auth".to_owned()].into()),
    ]
    .into();
    assert_eq!(find_cycle(&cyclic).map(|c| c.len()), Some(4), "a three-module cycle, closed");
    let acyclic: BTreeMap<String, BTreeSet<String>> = [
        ("routes".to_owned(), ["auth".to_owned(), "state".to_owned()].into()),
        ("state".to_owned(), ["auth".to_owned()].into()),
    ]
    .into();
    assert_eq!(find_cycle(&acyclic), None);
}
