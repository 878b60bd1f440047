//! The browser entry point: hydrates the server-rendered app.

// Hydrating the whole app computes the layout of deeply nested view types (the administration
// pages' forms and tables); the default limit of 128 is too low for them, as for the server.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Lets the browser suite (and a curious engineer) know client-side routing is live.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
