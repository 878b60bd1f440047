//! The page's title, as a `String` computed while the page renders.
//!
//! leptos_meta writes the `<title>` after the request's reactive owner is gone
//! (leptos-rs/leptos#3729): a title given as a closure that reads the locale or a signal then
//! panics ("already disposed"), and under concurrent requests the page's connection is dropped,
//! a different page each time. [`PageTitle`] takes a `String`, so a closure does not compile; the
//! test below keeps pages from reaching for leptos_meta's `Title` directly.

use leptos::prelude::*;
use leptos_meta::Title;

/// The page's title (the app's formatter adds " · Elysium").
#[component]
pub fn PageTitle(text: String) -> impl IntoView {
    view! { <Title text=text /> }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every `.rs` file under `dir`, recursively.
    fn sources(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("the app's sources").flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn pages_set_their_title_only_through_page_title() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        assert!(files.len() > 30, "the app's sources were not found under {}", root.display());
        let mut offenders = Vec::new();
        for file in files {
            let relative = file.strip_prefix(&root).unwrap_or(&file).to_string_lossy().replace('\\', "/");
            // This module, and the app's root, which sets the formatter only.
            if relative == "components/title.rs" || relative == "lib.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.contains("<Title ") || text.contains("leptos_meta::Title") {
                offenders.push(relative);
            }
        }
        assert!(offenders.is_empty(), "use components::title::PageTitle, not leptos_meta's Title: {offenders:?}");
    }
}
