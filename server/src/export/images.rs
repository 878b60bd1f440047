//! The images of the exported studies: every stored instance read from the object store,
//! de-identified (`elysium_dicom::deidentify`) with its patient's pseudonym and date shift and
//! the key's replacement UIDs, and written to
//! `dicom/<pseudonym>/<study UID>/<series UID>/<SOP instance UID>.dcm`. Every path component is
//! a pseudonym or a replacement UID (digits and dots), never header text.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use elysium_dicom::deidentify::{Replacements, deidentify_file};
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};
use sqlx::PgPool;
use uuid::Uuid;

use super::ExportError;
use super::folder::io;
use super::key::ExportKey;

/// The folder, under the export, that holds the images.
pub const DICOM_FOLDER: &str = "dicom";

/// Instances read, de-identified and written at once.
const CONCURRENCY: usize = 4;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageCounts {
    pub patients: usize,
    pub studies: usize,
    pub series: usize,
    pub instances: usize,
    pub bytes: u64,
}

/// Where one written instance went.
struct Written {
    patient: String,
    study: String,
    series: String,
    bytes: u64,
}

/// Writes every stored instance of `studies` under `root/dicom`.
pub async fn write(
    pool: &PgPool,
    store: &Arc<dyn ObjectStore>,
    key: &ExportKey,
    studies: &BTreeSet<Uuid>,
    root: &Path,
) -> Result<ImageCounts, ExportError> {
    let studies: Vec<Uuid> = studies.iter().copied().collect();
    let instances = elysium_db::export::instances_of_studies(pool, &studies).await?;
    let folder = root.join(DICOM_FOLDER);
    tokio::fs::create_dir(&folder).await.map_err(|e| io(&folder, e))?;
    let written: Vec<Written> = futures::stream::iter(instances)
        .map(|instance| {
            let (store, key, folder) = (store.clone(), key.clone(), folder.clone());
            async move {
                let bytes = store
                    .get(&instance.object_key.clone().into())
                    .await
                    .map_err(|e| ExportError::Original(e.to_string()))?
                    .bytes()
                    .await
                    .map_err(|e| ExportError::Original(e.to_string()))?;
                tokio::task::spawn_blocking(move || {
                    let alias = key.patient(&instance.assigning_authority, &instance.patient_id);
                    let uid = |original: &str| key.uid(original);
                    let with = Replacements { pseudonym: &alias.pseudonym, shift_days: alias.shift_days, uid: &uid };
                    let out = deidentify_file(&bytes, &with)?;
                    let dir: PathBuf = [alias.pseudonym.as_str(), out.study_uid.as_str(), out.series_uid.as_str()]
                        .iter()
                        .fold(folder, |path, part| path.join(part));
                    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
                    let path = dir.join(format!("{}.dcm", out.sop_instance_uid));
                    write_new(&path, &out.bytes)?;
                    Ok::<_, ExportError>(Written {
                        patient: alias.pseudonym,
                        study: out.study_uid.to_string(),
                        series: out.series_uid.to_string(),
                        bytes: out.bytes.len() as u64,
                    })
                })
                .await
                .map_err(|e| ExportError::Task(e.to_string()))?
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let distinct = |f: fn(&Written) -> &String| written.iter().map(f).collect::<BTreeSet<_>>().len();
    Ok(ImageCounts {
        patients: distinct(|w| &w.patient),
        studies: distinct(|w| &w.study),
        series: distinct(|w| &w.series),
        instances: written.len(),
        bytes: written.iter().map(|w| w.bytes).sum(),
    })
}

/// Writes a file that must not exist yet (two instances never share a replacement UID).
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| io(path, e))?;
    file.write_all(bytes).map_err(|e| io(path, e))
}
