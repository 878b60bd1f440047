//! Uploading DICOM by hand: files, a whole folder, or .zip archives. A plain multipart form
//! (works without JavaScript); the result of the last upload is shown below it, file by file.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::upload::last_upload;

#[component]
pub fn UploadPage() -> impl IntoView {
    let result = Resource::new(|| (), |_| last_upload());
    view! {
        <Title text="Upload" />
        <h1>"Upload DICOM"</h1>
        <p class="muted">"CT series as files, a folder, or .zip archives. Each file is checked and stored once; duplicates and refusals are listed with their reasons."</p>
        <form method="post" action="/upload" enctype="multipart/form-data" class="upload-form" data-testid="upload-form">
            <label class="dropzone">
                <span>"Files or .zip archives"</span>
                <input type="file" name="files" multiple accept=".dcm,.zip,application/dicom,application/zip,*/*" />
            </label>
            <label class="dropzone">
                <span>"A whole folder"</span>
                <input type="file" name="files" multiple webkitdirectory="" />
            </label>
            <button type="submit" class="button primary">"Upload"</button>
        </form>
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
                                    let class = if row.outcome == "refused" { "outcome-failure" } else { "outcome-success" };
                                    view! {
                                        <tr class=class>
                                            <td>{row.file}</td><td>{row.outcome}</td><td class="detail">{row.detail}</td>
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
