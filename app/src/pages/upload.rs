//! Uploading DICOM by hand: files, a whole folder, or .zip archives. A plain multipart form
//! (works without JavaScript); hydrated, files can also be dropped on the page and the upload
//! shows a progress bar. The result of the last upload is shown below, file by file.

use crate::components::title::PageTitle;
use leptos::prelude::*;
use leptos_i18n::I18nContext;

use crate::api::session::current_user;
use crate::api::upload::last_upload;
use crate::components::errors::ErrorNotice;
use crate::i18n::{Locale, language, t, t_string, use_i18n};
use crate::model::upload::{RefusalReason, UploadDetail, UploadOutcome, UploadResult};

/// What became of a file, in the page's language.
fn outcome_text(i18n: I18nContext<Locale>, outcome: UploadOutcome) -> &'static str {
    match outcome {
        UploadOutcome::Stored => t_string!(i18n, upload.outcome.stored),
        UploadOutcome::Duplicate => t_string!(i18n, upload.outcome.duplicate),
        UploadOutcome::Refused => t_string!(i18n, upload.outcome.refused),
    }
}

/// Why a file was refused, in the page's language.
fn reason_text(i18n: I18nContext<Locale>, reason: RefusalReason) -> &'static str {
    use RefusalReason as R;
    match reason {
        R::NotDicom => t_string!(i18n, upload.reason.not_dicom),
        R::BadFileMeta => t_string!(i18n, upload.reason.bad_file_meta),
        R::Unreadable => t_string!(i18n, upload.reason.unreadable),
        R::UnsupportedTransferSyntax => t_string!(i18n, upload.reason.unsupported_transfer_syntax),
        R::MissingAttribute => t_string!(i18n, upload.reason.missing_attribute),
        R::InvalidUid => t_string!(i18n, upload.reason.invalid_uid),
        R::BadValue => t_string!(i18n, upload.reason.bad_value),
        R::MetaMismatch => t_string!(i18n, upload.reason.meta_mismatch),
        R::IncompletePixelData => t_string!(i18n, upload.reason.incomplete_pixel_data),
        R::NotInCharacterSet => t_string!(i18n, upload.reason.not_in_character_set),
        R::MissingPatientId => t_string!(i18n, upload.reason.missing_patient_id),
        R::NotCt => t_string!(i18n, upload.reason.not_ct),
        R::ConflictingContent => t_string!(i18n, upload.reason.conflicting_content),
        R::Inconsistent => t_string!(i18n, upload.reason.inconsistent),
        R::WrongStudy => t_string!(i18n, upload.reason.wrong_study),
        R::Storage => t_string!(i18n, upload.reason.storage),
        R::NotAZip => t_string!(i18n, upload.reason.not_a_zip),
        R::ZipEntryTooLarge => t_string!(i18n, upload.reason.zip_entry_too_large),
        R::ZipTooLarge => t_string!(i18n, upload.reason.zip_too_large),
        R::ZipEntryUnreadable => t_string!(i18n, upload.reason.zip_entry_unreadable),
    }
}

/// A file's row detail: the sentence in the page's language, then any particulars (UIDs,
/// attribute names, a parser's words) as they are.
fn detail_view(i18n: I18nContext<Locale>, detail: UploadDetail) -> impl IntoView {
    let (text, particulars) = match detail {
        UploadDetail::Stored { patient_id, study_uid } => (
            t_string!(i18n, upload.detail.stored).replace("{patient}", &patient_id).replace("{study}", &study_uid),
            None,
        ),
        UploadDetail::Duplicate { sop_instance_uid } => {
            (t_string!(i18n, upload.detail.duplicate).replace("{uid}", &sop_instance_uid), None)
        }
        UploadDetail::Refused(refusal) => (reason_text(i18n, refusal.reason).to_owned(), refusal.particulars),
    };
    view! {
        <span>{text}</span>
        {particulars.map(|p| view! { " " <code class="particulars">{p}</code> })}
    }
}

/// The upload's counts in one sentence. It is one text, not a view with its numbers
/// interpolated, so that the page carries it as one run of text (`2 stored, 0 duplicates,
/// 2 refused`): the translation marks the numbers `{stored}`, `{duplicates}` and `{refused}`.
fn summary_text(i18n: I18nContext<Locale>, result: &UploadResult) -> String {
    t_string!(i18n, upload.summary)
        .replace("{stored}", &result.stored.to_string())
        .replace("{duplicates}", &result.duplicates.to_string())
        .replace("{refused}", &result.refused.to_string())
}

#[component]
pub fn UploadPage() -> impl IntoView {
    let i18n = use_i18n();
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
        <PageTitle text=t_string!(i18n, upload.title).to_string() />
        <h1>{t!(i18n, upload.heading)}</h1>
        <p class="muted">{t!(i18n, upload.intro)}</p>
        <form method="post" action="/upload" enctype="multipart/form-data" class="upload-form" data-testid="upload-form"
            node_ref=form on:submit=on_submit on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default() on:drop=on_drop>
            // First in the form: the server reads the site before it stores any file.
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let sites = user.await.ok().flatten().map(|u| u.sites).unwrap_or_default();
                    match sites.as_slice() {
                        [] => view! {
                            <p class="notice error" role="alert" data-testid="upload-site">
                                {t!(i18n, upload.no_site)}
                            </p>
                        }.into_any(),
                        [only] => view! {
                            <p data-testid="upload-site">{t!(i18n, upload.stored_for)} " " <strong>{only.name.clone()}</strong> {format!(" ({})", only.code)}</p>
                        }.into_any(),
                        several => view! {
                            <label data-testid="upload-site">
                                <span>{t!(i18n, upload.receiving_site)}</span>
                                <select name="site" required>
                                    <option value="" selected>{t!(i18n, upload.choose_site)}</option>
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
                <span>{t!(i18n, upload.files)}</span>
                <input type="file" name="files" multiple accept=".dcm,.zip,application/dicom,application/zip,*/*" />
            </label>
            <label class="dropzone">
                <span>{t!(i18n, upload.folder)}</span>
                <input type="file" name="files" multiple webkitdirectory="" />
            </label>
            <div class="dropzone drop-target" aria-live="polite">
                <span>{t!(i18n, upload.drop_here)}</span>
                <span class="muted" data-testid="dropped">{t!(i18n, upload.dropped, count = move || dropped.get())}</span>
            </div>
            <button type="submit" class="button primary">{t!(i18n, upload.submit)}</button>
        </form>
        {move || progress.get().map(|p| view! {
            <progress max="100" value=p data-testid="upload-progress">{format!("{p:.0}%")}</progress>
            <span>" " {t!(i18n, upload.sent, percent = format!("{p:.0}"))}</span>
        })}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match result.await {
                    Ok(Some(r)) => view! {
                        <h2>{t!(i18n, upload.last_upload)}</h2>
                        <p data-testid="upload-summary">{summary_text(i18n, &r)}</p>
                        {r.error.map(|e| view! {
                            <p class="notice error" role="alert" data-testid="upload-error">{move || e.in_language(language(i18n)).to_owned()}</p>
                        })}
                        <table class="grid dense" data-testid="upload-results">
                            <thead><tr>
                                <th>{t!(i18n, upload.col.file)}</th><th>{t!(i18n, upload.col.result)}</th><th>{t!(i18n, upload.col.detail)}</th>
                            </tr></thead>
                            <tbody>
                                {r.rows.into_iter().map(|row| {
                                    let class = if row.outcome == UploadOutcome::Refused { "outcome-failure" } else { "outcome-success" };
                                    view! {
                                        <tr class=class>
                                            <td>{row.file}</td><td>{outcome_text(i18n, row.outcome)}</td><td class="detail">{detail_view(i18n, row.detail)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        {(r.unlisted > 0).then(|| {
                            let unlisted = r.unlisted;
                            view! { <p class="muted">{t!(i18n, upload.more_files, count = move || unlisted)}</p> }
                        })}
                    }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <ErrorNotice error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
