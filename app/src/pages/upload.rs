//! Uploading DICOM by hand: files, a whole folder, or .zip archives. A plain multipart form
//! (works without JavaScript); hydrated, files can also be dropped on the page and the upload
//! shows a progress bar. The result of the last upload is shown below, file by file.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::session::current_user;
use crate::api::upload::last_upload;
use crate::model::upload::UploadOutcome;

#[component]
pub fn UploadPage() -> impl IntoView {
    let result = Resource::new(|| (), |_| last_upload());
    let user = Resource::new(|| (), |_| current_user());
    // Percent sent while an upload runs (hydrated only).
    let progress = RwSignal::new(None::<f64>);
    let dropped = RwSignal::new(0usize);
    let form = NodeRef::<leptos::html::Form>::new();
    #[cfg(feature = "hydrate")]
    let dropped_files = StoredValue::new_local(Vec::<web_sys::File>::new());

    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        if let Some(list) = ev.data_transfer().and_then(|d| d.files()) {
            dropped_files.update_value(|files| files.extend((0..list.length()).filter_map(|i| list.get(i))));
            dropped.set(dropped_files.with_value(Vec::len));
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::{JsCast, closure::Closure};
            let Some(element) = form.get() else { return };
            let Ok(data) = web_sys::FormData::new_with_form(&element) else { return };
            let Ok(request) = web_sys::XmlHttpRequest::new() else { return };
            ev.prevent_default();
            dropped_files.with_value(|files| {
                for file in files {
                    let _ = data.append_with_blob_and_filename("files", file, &file.name());
                }
            });
            let _ = request.open("POST", "/upload");
            let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                if e.length_computable() && e.total() > 0.0 {
                    progress.set(Some(100.0 * e.loaded() / e.total()));
                }
            });
            if let Ok(upload) = request.upload() {
                upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
            }
            on_progress.forget();
            let on_done = Closure::<dyn FnMut()>::new(move || {
                progress.set(None);
                dropped_files.set_value(Vec::new());
                dropped.set(0);
                result.refetch();
            });
            request.set_onloadend(Some(on_done.as_ref().unchecked_ref()));
            on_done.forget();
            progress.set(Some(0.0));
            let _ = request.send_with_opt_form_data(Some(&data));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <Title text="Upload" />
        <h1>"Upload DICOM"</h1>
        <p class="muted">"CT series as files, a folder, or .zip archives. Each file is checked and stored once; duplicates and refusals are listed with their reasons."</p>
        <form method="post" action="/upload" enctype="multipart/form-data" class="upload-form" data-testid="upload-form"
            node_ref=form on:submit=on_submit on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=on_drop>
            // First in the form: the server reads the site before it stores any file.
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let sites = user.await.ok().flatten().map(|u| u.sites).unwrap_or_default();
                    match sites.as_slice() {
                        [] => view! {
                            <p class="notice error" role="alert" data-testid="upload-site">
                                "Your account belongs to no site, so uploaded images could be filed nowhere. Ask an administrator to add you to a site."
                            </p>
                        }.into_any(),
                        [only] => view! {
                            <p data-testid="upload-site">"Stored for " <strong>{only.name.clone()}</strong> {format!(" ({})", only.code)}</p>
                        }.into_any(),
                        several => view! {
                            <label data-testid="upload-site">
                                <span>"Receiving site"</span>
                                <select name="site" required>
                                    <option value="" selected>"Choose the site these images come from"</option>
                                    {several.iter().map(|s| view! {
                                        <option value=s.code.clone()>{format!("{} ({})", s.name, s.code)}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                        }.into_any(),
                    }
                })}
            </Suspense>
            <label class="dropzone">
                <span>"Files or .zip archives"</span>
                <input type="file" name="files" multiple accept=".dcm,.zip,application/dicom,application/zip,*/*" />
            </label>
            <label class="dropzone">
                <span>"A whole folder"</span>
                <input type="file" name="files" multiple webkitdirectory="" />
            </label>
            <div class="dropzone drop-target" aria-live="polite">
                <span>"Or drop files here"</span>
                <span class="muted" data-testid="dropped">{move || format!("{} dropped", dropped.get())}</span>
            </div>
            <button type="submit" class="button primary">"Upload"</button>
        </form>
        {move || progress.get().map(|p| view! {
            <progress max="100" value=p data-testid="upload-progress">{format!("{p:.0}%")}</progress>
            <span>{format!(" {p:.0}% sent")}</span>
        })}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match result.await {
                    Ok(Some(r)) => view! {
                        <h2>"Last upload"</h2>
                        <p data-testid="upload-summary">
                            {format!("{} stored, {} duplicates, {} refused", r.stored, r.duplicates, r.refused)}
                        </p>
                        {r.error.map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
                        <table class="grid dense" data-testid="upload-results">
                            <thead><tr><th>"File"</th><th>"Result"</th><th>"Detail"</th></tr></thead>
                            <tbody>
                                {r.rows.into_iter().map(|row| {
                                    let class = if row.outcome == UploadOutcome::Refused { "outcome-failure" } else { "outcome-success" };
                                    view! {
                                        <tr class=class>
                                            <td>{row.file}</td><td>{row.outcome.label()}</td><td class="detail">{row.detail}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        {(r.unlisted > 0).then(|| view! { <p class="muted">{format!("…and {} more files, counted above.", r.unlisted)}</p> })}
                    }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <p class="notice error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
