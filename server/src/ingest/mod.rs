//! Receiving DICOM instances, whichever way they arrive (STOW-RS, the command line, later
//! C-STORE and the upload page): validate, keep the original bytes in the object store, and
//! index them in PostgreSQL, all or nothing per instance.

pub mod audit;
pub mod cli;
pub mod site;
pub mod store;
pub mod sweep;

use std::sync::Arc;

use bytes::Bytes;
use elysium_db::images::{NewInstance, Registered, StoredInstance};
use elysium_dicom::header::{self, HeaderError, InstanceHeader};
use elysium_dicom::uid::Uid;
use object_store::{ObjectStore, ObjectStoreExt, path::Path as ObjectPath};
use sqlx::PgPool;
use uuid::Uuid;

/// The way an instance came in (kept with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Stow,
    Cstore,
    Upload,
    Cli,
    Demo,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Stow => "stow",
            Via::Cstore => "cstore",
            Via::Upload => "upload",
            Via::Cli => "cli",
            Via::Demo => "demo",
        }
    }
}

/// Where an instance comes from and what it must be.
#[derive(Debug, Clone)]
pub struct Received {
    pub via: Via,
    /// The site (hospital) it comes from: every way in resolves exactly one (see
    /// [`site::resolve`]), so that no study is filed where no coordinator sees it.
    pub site_id: Uuid,
    /// STOW-RS to `/studies/{study}`: instances of any other study are refused.
    pub expected_study: Option<String>,
}

impl Received {
    pub fn new(via: Via, site_id: Uuid) -> Self {
        Received { via, site_id, expected_study: None }
    }
}

/// A completion hint needs at least this many instances of a series stored by one association or
/// request.
pub const HINT_MIN_INSTANCES: usize = 2;

/// The series of which `outcomes` stored at least [`HINT_MIN_INSTANCES`] new instances.
pub fn hinted_series(outcomes: &[Outcome]) -> Vec<String> {
    let mut stored: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for outcome in outcomes {
        if let Outcome::Stored(r) = outcome {
            *stored.entry(&r.series_uid).or_default() += 1;
        }
    }
    stored.into_iter().filter(|(_, n)| *n >= HINT_MIN_INSTANCES).map(|(uid, _)| uid.to_owned()).collect()
}

/// The identifiers of a stored (or already stored) instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRef {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub study_uid: String,
    pub series_uid: String,
    pub patient_id: String,
}

/// Why an instance was not stored: a clear per-file reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("{0}")]
    Invalid(#[from] HeaderError),
    #[error("PatientID (0010,0020) is empty or missing; an instance must name its patient to be filed")]
    MissingPatientId,
    #[error("SOP class {0} is not CT; this server stores CT only")]
    NotCt(String),
    #[error("an instance with this SOP Instance UID is already stored with different content")]
    ConflictingContent,
    #[error("{0}")]
    Inconsistent(&'static str),
    #[error("the instance belongs to study {0}, not to the study addressed")]
    WrongStudy(String),
    #[error("the instance could not be stored; nothing was kept")]
    Storage,
}

impl Rejection {
    /// The DICOM FailureReason (PS3.4 status codes, as STOW-RS reports them).
    pub fn failure_reason(&self) -> u16 {
        match self {
            Rejection::Invalid(HeaderError::UnsupportedTransferSyntax(_)) => 0xC122,
            Rejection::Invalid(_) | Rejection::Inconsistent(_) => 0xC000,
            // "Data set does not match SOP class": PatientID is required (Type 2 allows it
            // empty in DICOM, but an unidentified image cannot be followed up safely).
            Rejection::MissingPatientId => 0xA900,
            Rejection::NotCt(_) => 0x0122,
            Rejection::ConflictingContent => 0x0111,
            Rejection::WrongStudy(_) => 0xA900,
            Rejection::Storage => 0xA700,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Stored(InstanceRef),
    Duplicate(InstanceRef),
    /// Not stored. The UIDs are given when the header could be read that far.
    Rejected {
        sop_class_uid: Option<String>,
        sop_instance_uid: Option<String>,
        reason: Rejection,
    },
}

impl Outcome {
    /// `stored`, `duplicate` or `rejected` (the ingest metrics' label).
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Stored(_) => "stored",
            Outcome::Duplicate(_) => "duplicate",
            Outcome::Rejected { .. } => "rejected",
        }
    }
}

#[derive(Clone)]
pub struct Ingestor {
    pool: PgPool,
    store: Arc<dyn ObjectStore>,
    accept_non_ct: bool,
}

impl Ingestor {
    pub fn new(pool: PgPool, store: Arc<dyn ObjectStore>, accept_non_ct: bool) -> Self {
        Ingestor { pool, store, accept_non_ct }
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The end of a C-STORE association or a STOW-RS request: a completion hint for each series of
    /// which it stored at least [`HINT_MIN_INSTANCES`] instances, so that screening need not wait
    /// for the quiet period. A sender that sends one instance per request or association gives no
    /// hint (it would only get its series screened in pieces); a later instance makes the hint
    /// stale and the series is screened again on all of its instances.
    pub async fn sender_done(&self, outcomes: &[Outcome]) {
        let series = hinted_series(outcomes);
        if let Err(error) = elysium_db::jobs::mark_sender_done(&self.pool, &series).await {
            // Only a hint: the series is still screened once it is quiet.
            tracing::warn!(%error, "could not record that a sender finished its series");
        }
    }

    /// Stores one instance. Never panics on its input; every failure is an [`Outcome::Rejected`].
    pub async fn ingest(&self, bytes: Bytes, received: &Received) -> Outcome {
        let size = bytes.len();
        let outcome = self.ingest_one(bytes, received).await;
        crate::monitoring::record_ingest(received.via.as_str(), outcome.label(), size);
        outcome
    }

    async fn ingest_one(&self, bytes: Bytes, received: &Received) -> Outcome {
        let parse_input = bytes.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            header::parse_header(&parse_input).map(|h| (h, Digests::of(&parse_input)))
        });
        let (h, digests) = match parsed.await {
            Ok(Ok(parsed)) => parsed,
            Ok(Err(error)) => return rejected(None, error.into()),
            Err(join) => {
                tracing::error!(error = %join, "the DICOM parser task failed");
                return rejected(None, Rejection::Storage);
            }
        };
        if let Some(study) = &received.expected_study
            && study != h.study_instance_uid.as_str()
        {
            return rejected(Some(&h), Rejection::WrongStudy(h.study_instance_uid.to_string()));
        }
        if !h.is_ct() && !self.accept_non_ct {
            return rejected(Some(&h), Rejection::NotCt(h.sop_class_uid.to_string()));
        }
        // Never filed under a shared empty ID: every such study would become one "patient".
        if h.patient_id.trim().is_empty() {
            return rejected(Some(&h), Rejection::MissingPatientId);
        }
        match self.store_and_register(&h, digests, bytes, received.via, received.site_id).await {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::error!(%error, sop_instance_uid = %h.sop_instance_uid, "storing an instance failed");
                rejected(Some(&h), Rejection::Storage)
            }
        }
    }

    /// Writes the object, then registers it in a short transaction: no pooled connection is held
    /// while the bytes travel to the object store. (A slow store or a large instance would
    /// otherwise hold a connection per instance in flight, and a few slow STOW-RS requests would
    /// take the whole pool from sign-in and the worklist.)
    ///
    /// The key names the content as well as the instance (see [`object_key`]): two ingests of
    /// one instance with different bytes never write over each other's object, and identical
    /// bytes make one object. What keeps the row and its object together is in [`Self::register`].
    async fn store_and_register(
        &self,
        h: &InstanceHeader,
        digests: Digests,
        bytes: Bytes,
        via: Via,
        site_id: Uuid,
    ) -> anyhow::Result<Outcome> {
        let reference = instance_ref(h);
        // A resend of an instance already stored (a sender retrying) is answered without writing.
        if let Some(existing) = self.registered(h).await? {
            return self.same_or_conflict(h, &existing, &digests, reference).await;
        }
        let key = object_key(&h.study_instance_uid, &h.series_instance_uid, &h.sop_instance_uid, &digests.sha256);
        let new = new_instance(h, digests, i64::try_from(bytes.len())?, key.as_ref(), via, site_id);
        // A put is all or nothing: one that fails leaves no object behind.
        self.store.put(&key, bytes.into()).await?;
        self.register(h, &key, &new, reference).await
    }

    /// The row of this instance, if one is registered; the connection goes back at once.
    async fn registered(&self, h: &InstanceHeader) -> Result<Option<StoredInstance>, elysium_db::DbError> {
        let mut conn = self.pool.acquire().await?;
        elysium_db::images::find_instance(&mut conn, h.sop_instance_uid.as_str()).await
    }

    /// Registers the object just written at `key`, under two locks held until the commit (see
    /// [`elysium_db::images::lock_object_key`]): the instance's, so that two ingests of one
    /// instance take turns and the second finds the first's row; and the object's, which the
    /// orphan sweep takes before it removes an unreferenced object, so that it never removes one
    /// between finding it unreferenced and our row. An object this ends up not registering is
    /// removed: under the instance's lock with no row of the instance, nothing references it
    /// (its key names the instance).
    async fn register(
        &self,
        h: &InstanceHeader,
        key: &ObjectPath,
        new: &NewInstance,
        reference: InstanceRef,
    ) -> anyhow::Result<Outcome> {
        let mut tx = self.pool.begin().await?;
        elysium_db::images::lock_object_key(&mut tx, &instance_lock(h)).await?;
        elysium_db::images::lock_object_key(&mut tx, key.as_ref()).await?;
        if let Some(existing) = elysium_db::images::find_instance(&mut tx, h.sop_instance_uid.as_str()).await? {
            // Another ingest of the instance registered it since we looked.
            if existing.object_key != key.as_ref() {
                self.forget_object(key).await;
            }
            // Nothing to commit; the comparison may read the stored object, which is done with
            // no connection held.
            drop(tx);
            return self.same_or_conflict(h, &existing, &new.into(), reference).await;
        }
        // Unreferenced until now, the object may have been swept since it was written (by a
        // sweep without a grace period); a row must never point at nothing.
        self.store.head(key).await?;
        match elysium_db::images::register(&mut tx, new).await {
            Ok(Registered::Stored { .. }) => {
                // If the commit fails, the locks went with the transaction: another ingest of
                // this instance with the same bytes may own the object by now, so it is not
                // deleted here. Unreferenced, it is the orphan sweep's, which checks again under
                // the lock.
                tx.commit().await?;
                Ok(Outcome::Stored(reference))
            }
            Ok(Registered::AlreadyThere(existing)) => {
                // The same SOP Instance UID is filed under another study or series (another key).
                if existing.object_key != key.as_ref() {
                    self.forget_object(key).await;
                }
                drop(tx);
                self.same_or_conflict(h, &existing, &new.into(), reference).await
            }
            Ok(Registered::Inconsistent(why)) => {
                self.forget_object(key).await;
                Ok(rejected(Some(h), Rejection::Inconsistent(why)))
            }
            Err(error) => {
                self.forget_object(key).await;
                Err(error.into())
            }
        }
    }

    async fn forget_object(&self, key: &ObjectPath) {
        if let Err(error) = self.store.delete(key).await {
            tracing::warn!(%error, %key, "could not remove an unregistered object; a sweep may remove it later");
        }
    }

    /// A resend of an instance already stored under its SOP Instance UID: a duplicate when it is
    /// the same file, or the same data set in other file meta information (group 0002), which
    /// one way in writes differently from another (a C-STORE resend of what STOW-RS stored: the
    /// listener writes its own file meta); anything else is other content, refused. The stored
    /// original is kept as it is either way.
    ///
    /// The data set's digest is kept with each row as it is registered, so that a resend is
    /// answered from the row. Rows stored before it was kept have none (null): theirs is
    /// computed from the stored object, read here (with no connection held), when a resend
    /// differs from it byte for byte, which is rare (a sender retrying sends the same file).
    /// It is not written back: no backfill to keep consistent, and the answer path stays free
    /// of writes; another such resend reads the object again. A store that cannot be read makes
    /// this an error (A700, "try again"), not a conflict the sender would take as final.
    async fn same_or_conflict(
        &self,
        h: &InstanceHeader,
        existing: &StoredInstance,
        received: &Digests,
        reference: InstanceRef,
    ) -> anyhow::Result<Outcome> {
        if existing.sha256 == received.sha256 {
            return Ok(Outcome::Duplicate(reference));
        }
        // A received file whose file meta ends where that cannot be told is the same instance
        // only byte for byte.
        let Some(received_dataset) = &received.dataset_sha256 else {
            return Ok(rejected(Some(h), Rejection::ConflictingContent));
        };
        let stored_dataset = match &existing.dataset_sha256 {
            Some(stored) => Some(stored.clone()),
            None => self.dataset_sha256_of(&existing.object_key).await?,
        };
        if stored_dataset.as_ref() == Some(received_dataset) {
            Ok(Outcome::Duplicate(reference))
        } else {
            Ok(rejected(Some(h), Rejection::ConflictingContent))
        }
    }

    /// The data set digest of a stored original, read from the object store.
    async fn dataset_sha256_of(&self, key: &str) -> anyhow::Result<Option<String>> {
        let bytes = self.store.get(&ObjectPath::from(key)).await?.bytes().await?;
        Ok(tokio::task::spawn_blocking(move || header::dataset_sha256_hex(&bytes)).await?)
    }
}

/// What identifies the content of a received file: the SHA-256 of its bytes (its identity and
/// object key: the original is kept byte for byte) and that of its data set without the file
/// meta group ([`header::dataset_sha256_hex`]), which tells the same instance in other file meta.
struct Digests {
    sha256: String,
    dataset_sha256: Option<String>,
}

impl Digests {
    fn of(bytes: &[u8]) -> Digests {
        Digests { sha256: header::sha256_hex(bytes), dataset_sha256: header::dataset_sha256_hex(bytes) }
    }
}

impl From<&NewInstance> for Digests {
    fn from(new: &NewInstance) -> Digests {
        Digests { sha256: new.sha256.clone(), dataset_sha256: new.dataset_sha256.clone() }
    }
}

fn rejected(h: Option<&InstanceHeader>, reason: Rejection) -> Outcome {
    Outcome::Rejected {
        sop_class_uid: h.map(|h| h.sop_class_uid.to_string()),
        sop_instance_uid: h.map(|h| h.sop_instance_uid.to_string()),
        reason,
    }
}

fn instance_ref(h: &InstanceHeader) -> InstanceRef {
    InstanceRef {
        sop_class_uid: h.sop_class_uid.to_string(),
        sop_instance_uid: h.sop_instance_uid.to_string(),
        study_uid: h.study_instance_uid.to_string(),
        series_uid: h.series_instance_uid.to_string(),
        patient_id: h.patient_id.clone(),
    }
}

/// Object keys come from validated UIDs only (digits and dots) and the content's SHA-256 (hex
/// digits), never from other header text. The digest makes two versions of one instance two
/// objects: one being written never replaces the other's bytes under its row.
pub fn object_key(study: &Uid, series: &Uid, instance: &Uid, sha256: &str) -> ObjectPath {
    ObjectPath::from(format!("instances/{study}/{series}/{instance}.{sha256}.dcm"))
}

/// The advisory lock key under which ingests of one instance take turns registering it.
fn instance_lock(h: &InstanceHeader) -> String {
    format!("instance:{}", h.sop_instance_uid)
}

/// A DICOM DA value (YYYYMMDD) as a date; anything else is treated as absent.
fn dicom_date(value: Option<&str>) -> Option<time::Date> {
    let value = value?;
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = value[0..4].parse().ok()?;
    let month = time::Month::try_from(value[4..6].parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(year, month, value[6..8].parse().ok()?).ok()
}

fn new_instance(h: &InstanceHeader, digests: Digests, size: i64, key: &str, via: Via, site_id: Uuid) -> NewInstance {
    NewInstance {
        patient_id: h.patient_id.clone(),
        issuer_of_patient_id: h.issuer_of_patient_id.clone(),
        patient_name: h.patient_name.clone(),
        patient_name_pinyin: h.patient_name.as_deref().and_then(app::service::names::name_pinyin),
        patient_sex: h.patient_sex.clone(),
        patient_birth_date: dicom_date(h.patient_birth_date.as_deref()),
        study_uid: h.study_instance_uid.to_string(),
        site_id,
        study_date: dicom_date(h.study_date.as_deref()),
        study_time: h.study_time.clone(),
        accession_number: h.accession_number.clone(),
        referring_physician: h.referring_physician.clone(),
        study_description: h.study_description.clone(),
        institution_name: h.institution_name.clone(),
        series_uid: h.series_instance_uid.to_string(),
        modality: h.modality.clone(),
        body_part: h.body_part_examined.clone(),
        series_description: h.series_description.clone(),
        series_number: h.series_number,
        contrast_agent: h.contrast_bolus_agent.clone(),
        contrast_route: h.contrast_bolus_route.clone(),
        image_type: h.image_type.clone(),
        slice_thickness: h.slice_thickness,
        pixel_spacing: h.pixel_spacing.map(Vec::from),
        image_orientation: h.image_orientation.map(Vec::from),
        rows: h.rows,
        columns: h.columns,
        kvp: h.kvp,
        manufacturer: h.manufacturer.clone(),
        frame_of_reference_uid: h.frame_of_reference_uid.as_ref().map(ToString::to_string),
        sop_instance_uid: h.sop_instance_uid.to_string(),
        sop_class_uid: h.sop_class_uid.to_string(),
        transfer_syntax_uid: h.transfer_syntax_uid.to_string(),
        instance_number: h.instance_number,
        image_position: h.image_position.map(Vec::from),
        number_of_frames: h.number_of_frames,
        rescale_slope: h.rescale_slope,
        rescale_intercept: h.rescale_intercept,
        sha256: digests.sha256,
        dataset_sha256: digests.dataset_sha256,
        size_bytes: size,
        object_key: key.to_owned(),
        received_via: via.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(series: &str, n: u32) -> Outcome {
        Outcome::Stored(InstanceRef {
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance_uid: format!("{series}.{n}"),
            study_uid: "1.2".into(),
            series_uid: series.into(),
            patient_id: "P".into(),
        })
    }

    #[test]
    fn a_hint_needs_two_new_instances_of_a_series() {
        let duplicate = match stored("1.2.3", 9) {
            Outcome::Stored(r) => Outcome::Duplicate(r),
            other => other,
        };
        let outcomes = [stored("1.2.3", 1), stored("1.2.4", 1), stored("1.2.3", 2), duplicate, stored("1.2.5", 1)];
        // 1.2.3: two stored; 1.2.4 and 1.2.5: one each (a duplicate of 1.2.3 adds nothing).
        assert_eq!(hinted_series(&outcomes), ["1.2.3"]);
        assert!(hinted_series(&[]).is_empty());
    }

    #[test]
    fn dicom_dates() {
        assert_eq!(dicom_date(Some("20240229")), time::Date::from_calendar_date(2024, time::Month::February, 29).ok());
        assert_eq!(dicom_date(Some("20230229")), None);
        assert_eq!(dicom_date(Some("2024-02-01")), None);
        assert_eq!(dicom_date(None), None);
    }

    #[test]
    fn failure_reasons_follow_ps3_4() {
        assert_eq!(Rejection::NotCt("1.2".into()).failure_reason(), 0x0122);
        assert_eq!(Rejection::Invalid(HeaderError::UnsupportedTransferSyntax("1.2".into())).failure_reason(), 0xC122);
        assert_eq!(Rejection::Invalid(HeaderError::NotDicom).failure_reason(), 0xC000);
        assert_eq!(Rejection::Storage.failure_reason(), 0xA700);
    }
}
