//! The DICOM C-STORE service class provider: hospitals send CT to Elysium as to any PACS node.
//! Answers C-ECHO; accepts CT Image Storage and Enhanced CT Image Storage (any storage class
//! with `ELYSIUM_ACCEPT_NON_CT`) in the transfer syntaxes `elysium-dicom` accepts. Each received
//! data set is wrapped, unchanged, in Part 10 file meta and stored through the same ingest path
//! as STOW-RS.
//!
//! The listener faces the hospital network, so everything a sender can make it hold is bounded
//! (see [`DimseConfig`]): associations open at once, the time one may stay idle or open, the PDU
//! length, and the bytes of one instance held while it arrives. Who may send is decided by
//! `gate`; every association request that names a calling AE title is audited (`audit`).

mod audit;
mod gate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::association::Association;
use dicom_ul::association::server::{AsyncServerAssociation, ServerAssociationOptions};
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderPresentationReason, AssociationRJSource,
    PDataValue, PDataValueType, Pdu,
};
use elysium_dicom::dimse::{C_ECHO_RSP, C_STORE_RSP, DEFAULT_MAX_PDU_BYTES, NO_DATA_SET, Reassembly, Step};
use elysium_dicom::header::{ACCEPTED_TRANSFER_SYNTAXES, CT_IMAGE_STORAGE, ENHANCED_CT_IMAGE_STORAGE};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use audit::{AssociationLog, Ended, printable};
use gate::{Gate, Seen};

use crate::ingest::{Ingestor, Outcome, Received, Via};

const STATUS_SUCCESS: u16 = 0x0000;
/// Refused: SOP class not supported (PS3.4 C.4.2.1.4 / Annex B status codes).
const STATUS_UNRECOGNIZED_OPERATION: u16 = 0x0211;
/// Refused: out of resources (PS3.4 Annex B): an instance larger than
/// `ELYSIUM_DICOM_MAX_INSTANCE_BYTES`.
const STATUS_OUT_OF_RESOURCES: u16 = 0xA700;
/// How long the accept loop pauses after a failed accept (out of file descriptors, say), so
/// that it does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, clap::Args)]
pub struct DimseConfig {
    /// Address of the DICOM (DIMSE) listener for C-STORE and C-ECHO.
    #[arg(long, env = "ELYSIUM_DICOM_ADDR", default_value = "127.0.0.1:11112")]
    pub dicom_addr: std::net::SocketAddr,
    /// Run the DICOM listener at all.
    #[arg(long, env = "ELYSIUM_DICOM", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub dicom: bool,
    /// Elysium's AE title; associations must call it.
    #[arg(long, env = "ELYSIUM_AE_TITLE", default_value = "ELYSIUM")]
    pub ae_title: String,
    /// Calling AE titles allowed to send, comma-separated. When set, no other title is
    /// accepted; titles on it without a site of their own are filed at `ELYSIUM_DICOM_SITE`.
    #[arg(long, env = "ELYSIUM_DICOM_ALLOWED_CALLING", value_delimiter = ',')]
    pub allowed_calling: Vec<String>,
    /// Accept calling AE titles that have no site of their own and are not on
    /// `ELYSIUM_DICOM_ALLOWED_CALLING`, filing them at `ELYSIUM_DICOM_SITE`. Off: such titles are
    /// refused, so that a default site does not let any device on the network file studies.
    /// Demo mode turns it on for a loopback listener.
    #[arg(long, env = "ELYSIUM_DICOM_ACCEPT_ANY_AE", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub accept_any_ae: bool,
    /// Associations open at once (connections not yet associated count too). Over it, a request
    /// is refused as transient ("local limit exceeded"), which senders retry later.
    #[arg(long, env = "ELYSIUM_DICOM_MAX_ASSOCIATIONS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_associations: u32,
    /// Seconds an association (or a connection yet to ask for one) may send nothing, or take to
    /// send one PDU, before it is aborted.
    #[arg(long, env = "ELYSIUM_DICOM_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout_secs: u64,
    /// Seconds an association may stay open in all; it is aborted at the first wait for the
    /// sender past it (an instance being stored is finished first).
    #[arg(long, env = "ELYSIUM_DICOM_ASSOCIATION_TIMEOUT_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub association_timeout_secs: u64,
    /// The longest PDU accepted, in bytes (offered to senders at association; a longer one
    /// aborts the association).
    #[arg(long, env = "ELYSIUM_DICOM_MAX_PDU_BYTES", default_value_t = DEFAULT_MAX_PDU_BYTES, value_parser = clap::value_parser!(u32).range(4_096..=16_777_216))]
    pub max_pdu_bytes: u32,
    /// The largest data set of one instance, in bytes: the bytes held while it arrives. A larger
    /// one is refused (status A700, out of resources) and its remaining fragments dropped; the
    /// association goes on. Memory held for arriving instances is about this times
    /// `ELYSIUM_DICOM_MAX_ASSOCIATIONS` (twice that for a moment, as a received data set is
    /// wrapped as a file).
    #[arg(long, env = "ELYSIUM_DICOM_MAX_INSTANCE_BYTES", default_value_t = 256 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1_024..=4 * 1024 * 1024 * 1024))]
    pub max_instance_bytes: u64,
    /// Site code the studies received over DICOM are filed under (unless the calling AE title
    /// has a site of its own in `ELYSIUM_DICOM_AE_SITES`). The listener does not start when
    /// neither names a site.
    #[arg(long, env = "ELYSIUM_DICOM_SITE")]
    pub dicom_site: Option<String>,
    /// Each sending AE title's site, as `CALLING_AE=SITE_CODE` pairs, comma-separated. With a
    /// map and no `ELYSIUM_DICOM_SITE`, an AE title not in it is refused at association.
    #[arg(long, env = "ELYSIUM_DICOM_AE_SITES", value_delimiter = ',')]
    pub ae_sites: Vec<String>,
}

impl DimseConfig {
    // The limits as used, at least 1 each: the command line checks its ranges, a configuration
    // built in code does not.
    fn max_associations(&self) -> usize {
        usize::try_from(self.max_associations.max(1)).unwrap_or(usize::MAX)
    }

    fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }

    fn association_timeout(&self) -> Duration {
        Duration::from_secs(self.association_timeout_secs.max(1))
    }

    fn max_pdu_bytes(&self) -> u32 {
        self.max_pdu_bytes.clamp(4_096, 16_777_216)
    }

    fn max_instance_bytes(&self) -> usize {
        usize::try_from(self.max_instance_bytes.max(1)).unwrap_or(usize::MAX)
    }
}

/// Which site each association's instances are filed under: the calling AE title's own (from
/// `ELYSIUM_DICOM_AE_SITES`, then from the sites page), else the listener's default.
#[derive(Debug, Clone, Default)]
pub struct DicomSites {
    pub default: Option<uuid::Uuid>,
    pub by_calling_ae: Vec<(String, uuid::Uuid)>,
}

impl DicomSites {
    /// Reads the configuration; every named site must exist (a typo never creates a site). With
    /// no site named anywhere (no default, no map, no AE title on the sites page) the listener
    /// still starts and refuses every association until an administrator gives a site the
    /// sender's AE title: the titles are read again at each association, so no restart is needed.
    pub async fn from_config(pool: &sqlx::PgPool, config: &DimseConfig) -> anyhow::Result<DicomSites> {
        let mut sites = DicomSites::default();
        for pair in config.ae_sites.iter().filter(|p| !p.trim().is_empty()) {
            let Some((ae, code)) = pair.split_once('=') else {
                anyhow::bail!("ELYSIUM_DICOM_AE_SITES: `{pair}` is not CALLING_AE=SITE_CODE");
            };
            let site = crate::ingest::site::by_code(pool, code).await?;
            sites.by_calling_ae.push((ae.trim().to_owned(), site));
        }
        if let Some(code) = &config.dicom_site {
            sites.default = Some(crate::ingest::site::by_code(pool, code).await?);
        }
        if sites.default.is_none()
            && sites.by_calling_ae.is_empty()
            && sites.with_stored(pool).await?.by_calling_ae.is_empty()
        {
            tracing::warn!(
                "the DICOM listener has no site to file received studies under, so it refuses every association \
                 until a site on the sites page names the sender's AE title (or set ELYSIUM_DICOM_SITE=CODE or \
                 ELYSIUM_DICOM_AE_SITES=AE=CODE,...; ELYSIUM_DICOM=false turns it off)"
            );
        } else if sites.default.is_some() && config.allowed_calling.is_empty() && !config.accept_any_ae {
            tracing::info!(
                "the DICOM listener files at ELYSIUM_DICOM_SITE only the AE titles on ELYSIUM_DICOM_ALLOWED_CALLING; \
                 others need a site of their own (sites page, ELYSIUM_DICOM_AE_SITES) or ELYSIUM_DICOM_ACCEPT_ANY_AE=true"
            );
        }
        if config.accept_any_ae {
            tracing::warn!("the DICOM listener accepts any calling AE title (ELYSIUM_DICOM_ACCEPT_ANY_AE)");
        }
        Ok(sites)
    }

    /// These sites with the calling AE titles administrators gave sites on `/admin/sites`. Read
    /// afresh for each association, so that an edit applies from the next one; a title that
    /// `ELYSIUM_DICOM_AE_SITES` also names keeps the site named there (the first match wins).
    pub async fn with_stored(&self, pool: &sqlx::PgPool) -> anyhow::Result<DicomSites> {
        let mut conn = pool.acquire().await?;
        let stored = elysium_db::sites::ae_title_sites(&mut conn).await?;
        let mut sites = self.clone();
        sites.by_calling_ae.extend(stored);
        Ok(sites)
    }

    /// Whether `calling_ae` has a site of its own (not merely the default).
    pub fn has_own(&self, calling_ae: &str) -> bool {
        let calling_ae = calling_ae.trim();
        self.by_calling_ae.iter().any(|(ae, _)| ae == calling_ae)
    }

    pub fn for_calling(&self, calling_ae: &str) -> Option<uuid::Uuid> {
        let calling_ae = calling_ae.trim();
        self.by_calling_ae.iter().find(|(ae, _)| ae == calling_ae).map(|(_, site)| *site).or(self.default)
    }
}

/// What every association shares.
struct Listener {
    ingestor: Ingestor,
    config: DimseConfig,
    sites: DicomSites,
    accept_non_ct: bool,
}

/// Accepts associations until the task is dropped; each association runs on its own task, at
/// most `max_associations` at once.
pub async fn serve(
    listener: TcpListener,
    ingestor: Ingestor,
    config: DimseConfig,
    sites: DicomSites,
    accept_non_ct: bool,
) {
    let slots = Arc::new(Semaphore::new(config.max_associations()));
    // Requests over the limit are read to be answered; as many of those at once, no more.
    let refusals = Arc::new(Semaphore::new(config.max_associations()));
    let shared = Arc::new(Listener { ingestor, config, sites, accept_non_ct });
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "DICOM listener accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let shared = shared.clone();
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                tokio::spawn(async move {
                    let mut log = AssociationLog::new(peer);
                    let ended = association(&shared, socket, &mut log).await;
                    log.record(shared.ingestor.pool(), &ended).await;
                    drop(slot);
                });
            }
            Err(_) => {
                let limit = shared.config.max_associations;
                tracing::warn!(%peer, limit, "DICOM association refused: the listener is at its association limit");
                let Ok(refusal) = refusals.clone().try_acquire_owned() else {
                    // Refusals are backed up too: close at once, without reading the request.
                    continue;
                };
                tokio::spawn(async move {
                    refuse_over_limit(&shared, socket, peer).await;
                    drop(refusal);
                });
            }
        }
    }
}

/// Answers an association request over the limit with A-ASSOCIATE-RJ (transient: local limit
/// exceeded), so that the sender retries later rather than reporting a broken connection, and
/// audits it.
async fn refuse_over_limit(shared: &Listener, mut socket: TcpStream, peer: SocketAddr) {
    let config = &shared.config;
    let mut log = AssociationLog::new(peer);
    let mut buffer = BytesMut::new();
    let read = dicom_ul::association::read_pdu_from_wire_async(&mut socket, &mut buffer, config.max_pdu_bytes(), true);
    let request = match tokio::time::timeout(config.idle_timeout(), read).await {
        Ok(Ok(Pdu::AssociationRQ(request))) => request,
        Ok(Ok(_)) => {
            return log.record(shared.ingestor.pool(), &Ended::NoRequest("not an association request".into())).await;
        }
        Ok(Err(error)) => return log.record(shared.ingestor.pool(), &Ended::NoRequest(error.to_string())).await,
        Err(_) => {
            let silent = Ended::NoRequest("nothing sent within the idle timeout".into());
            return log.record(shared.ingestor.pool(), &silent).await;
        }
    };
    log.calling = Some(printable(&request.calling_ae_title));
    log.called = Some(printable(&request.called_ae_title));
    let rejection = Pdu::AssociationRJ(AssociationRJ {
        result: AssociationRJResult::Transient,
        source: AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
    });
    let mut bytes = Vec::new();
    if dicom_ul::write_pdu(&mut bytes, &rejection).is_ok() {
        // The sender may have gone; the refusal stands either way.
        let _ = tokio::time::timeout(config.idle_timeout(), socket.write_all(&bytes)).await;
    }
    let reason = format!("the listener is at its limit of {} associations", config.max_associations);
    log.record(shared.ingestor.pool(), &Ended::Refused(reason)).await;
}

/// Negotiates an association (or refuses it), then serves it until it ends; what it did is
/// gathered in `log`.
async fn association(shared: &Listener, socket: TcpStream, log: &mut AssociationLog) -> Ended {
    let config = &shared.config;
    let deadline = Instant::now() + config.association_timeout();
    let sites = match shared.sites.with_stored(shared.ingestor.pool()).await {
        Ok(sites) => Arc::new(sites),
        Err(error) => return Ended::Failed(format!("the sites could not be read: {error}")),
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let gate = Gate {
        allowed_calling: config.allowed_calling.clone(),
        accept_any_ae: config.accept_any_ae,
        sites: sites.clone(),
        seen: seen.clone(),
    };
    let mut options = ServerAssociationOptions::new()
        .ae_access_control(gate)
        .ae_title(config.ae_title.clone())
        .with_abstract_syntax(uids::VERIFICATION)
        .with_abstract_syntax(CT_IMAGE_STORAGE)
        .with_abstract_syntax(ENHANCED_CT_IMAGE_STORAGE)
        .promiscuous(shared.accept_non_ct)
        // Strict (the default): a PDU longer than offered is an error, not a bigger buffer.
        .max_pdu_length(config.max_pdu_bytes())
        // Bounds the request, each PDU after it, and each response sent.
        .read_timeout(config.idle_timeout())
        .write_timeout(config.idle_timeout());
    for (uid, _) in ACCEPTED_TRANSFER_SYNTAXES {
        options = options.with_transfer_syntax(*uid);
    }
    let established = options.establish_async(socket).await;
    let seen = seen.lock().map(|seen| seen.clone()).unwrap_or_default();
    (log.calling, log.called) = (seen.calling, seen.called);
    let mut association = match established {
        Ok(association) => association,
        Err(error) => {
            return match (seen.refusal, &log.calling) {
                (Some(reason), _) => Ended::Refused(reason.into()),
                // Admitted by the gate, then lost (the sender went away before our answer).
                (None, Some(_)) => Ended::Failed(error.to_string()),
                (None, None) => Ended::NoRequest(error.to_string()),
            };
        }
    };
    log.accepted = true;
    let calling = association.peer_ae_title().to_owned();
    tracing::info!(calling = %printable(&calling), "DICOM association accepted");
    // The gate refused calling AE titles without a site, so this is never `None` here.
    let Some(site_id) = sites.for_calling(&calling) else {
        return Ended::Failed(format!("no site for calling AE title {}", printable(&calling)));
    };
    let mut session = Session {
        listener: shared,
        received: Received::new(Via::Cstore, site_id),
        contexts: association
            .presentation_contexts()
            .iter()
            .map(|pc| (pc.id, (pc.abstract_syntax.clone(), pc.transfer_syntax.clone())))
            .collect(),
        reassembly: Reassembly::new(config.max_instance_bytes()),
        log,
    };
    let ended = session.serve(&mut association, deadline).await;
    if matches!(ended, Ended::IdleTimeout | Ended::AssociationTimeout | Ended::Failed(_)) {
        // Tell the sender, when it still listens (bounded by the write timeout).
        let _ = association.abort().await;
    }
    ended
}

/// One association's commands and data sets: reassembled from P-DATA within bounds (by
/// [`Reassembly`]), then answered and stored here.
struct Session<'a> {
    listener: &'a Listener,
    received: Received,
    /// Presentation context id: (abstract syntax, transfer syntax).
    contexts: BTreeMap<u8, (String, String)>,
    reassembly: Reassembly,
    log: &'a mut AssociationLog,
}

type ServerAssociation = AsyncServerAssociation<TcpStream>;

impl Session<'_> {
    /// Receives and answers PDUs until the association ends.
    async fn serve(&mut self, association: &mut ServerAssociation, deadline: Instant) -> Ended {
        loop {
            let pdu = match receive(association, deadline).await {
                Ok(pdu) => pdu,
                Err(ended) => return ended,
            };
            match pdu {
                Pdu::PData { data: values } => {
                    for value in values {
                        if let Err(ended) = self.value(association, value).await {
                            return ended;
                        }
                    }
                }
                Pdu::ReleaseRQ => {
                    // The sender says it is done (an abort says nothing of the kind).
                    self.listener.ingestor.sender_done(&self.log.outcomes).await;
                    return match association.send(&Pdu::ReleaseRP).await {
                        Ok(()) => Ended::Released,
                        Err(error) => Ended::Failed(error.to_string()),
                    };
                }
                Pdu::AbortRQ { .. } => return Ended::AbortedBySender,
                other => tracing::debug!(?other, "ignoring an unexpected PDU"),
            }
        }
    }

    /// Takes one P-DATA value, and answers (and stores) what it completes.
    async fn value(&mut self, association: &mut ServerAssociation, value: PDataValue) -> Result<(), Ended> {
        let step = self.reassembly.value(value).map_err(|failure| Ended::Failed(failure.to_string()))?;
        match step {
            Step::Continue => Ok(()),
            Step::Echo { context, command } => reply(association, context, &command, C_ECHO_RSP, STATUS_SUCCESS).await,
            Step::Unrecognised { context, command, field } => {
                reply(association, context, &command, field | 0x8000, STATUS_UNRECOGNIZED_OPERATION).await
            }
            Step::RefuseTooLarge { context, command } => {
                self.log.too_large(text(&command, tags::AFFECTED_SOP_INSTANCE_UID).unwrap_or_default());
                reply(association, context, &command, C_STORE_RSP, STATUS_OUT_OF_RESOURCES).await
            }
            Step::Store { context, command, dataset } => {
                let (sop_class, transfer_syntax) = self.contexts.get(&context).cloned().unwrap_or_default();
                let ingestor = &self.listener.ingestor;
                let outcome = store(ingestor, &self.received, &command, &sop_class, &transfer_syntax, dataset).await;
                let status = status_of(&outcome);
                self.log.outcomes.extend(outcome);
                reply(association, context, &command, C_STORE_RSP, status).await
            }
        }
    }
}

/// The next PDU, waiting at most the idle timeout (dicom-ul's read timeout) and never past the
/// association's deadline.
async fn receive(association: &mut ServerAssociation, deadline: Instant) -> Result<Pdu, Ended> {
    match tokio::time::timeout_at(deadline, association.receive()).await {
        Err(_) => Err(Ended::AssociationTimeout),
        Ok(Ok(pdu)) => Ok(pdu),
        Ok(Err(dicom_ul::association::Error::Timeout { .. })) => Err(Ended::IdleTimeout),
        Ok(Err(error)) => Err(Ended::Failed(error.to_string())),
    }
}

async fn reply(
    association: &mut ServerAssociation,
    context: u8,
    request: &InMemDicomObject,
    field: u16,
    status: u16,
) -> Result<(), Ended> {
    let rsp = response(request, field, status);
    send_command(association, context, &rsp).await.map_err(|error| Ended::Failed(error.to_string()))
}

/// A text element of a command, without its padding.
fn text(cmd: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    cmd.get(tag).and_then(|e| e.to_str().ok()).map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
}

/// Stores one received data set: its outcome, or `None` when it could not even be wrapped as a
/// file.
async fn store(
    ingestor: &Ingestor,
    received: &Received,
    cmd: &InMemDicomObject,
    sop_class: &str,
    transfer_syntax: &str,
    dataset: Vec<u8>,
) -> Option<Outcome> {
    let instance = text(cmd, tags::AFFECTED_SOP_INSTANCE_UID).unwrap_or_default();
    let class = text(cmd, tags::AFFECTED_SOP_CLASS_UID).unwrap_or_else(|| sop_class.to_owned());
    let file = match part10(&class, &instance, transfer_syntax, &dataset) {
        Ok(file) => file,
        Err(error) => {
            tracing::warn!(%error, "could not wrap a received data set");
            return None;
        }
    };
    let outcome = ingestor.ingest(file, received).await;
    if let Outcome::Rejected { reason, .. } = &outcome {
        tracing::warn!(%reason, sop_instance_uid = %instance, "C-STORE refused");
    }
    Some(outcome)
}

/// The DIMSE status of the C-STORE-RSP for a store's outcome.
fn status_of(outcome: &Option<Outcome>) -> u16 {
    match outcome {
        Some(Outcome::Stored(_) | Outcome::Duplicate(_)) => STATUS_SUCCESS,
        Some(Outcome::Rejected { reason, .. }) => reason.failure_reason(),
        // Processing failure: the data set could not be read as one.
        None => 0xC000,
    }
}

/// Preamble, `DICM`, file meta, then the data set exactly as it arrived.
fn part10(sop_class: &str, sop_instance: &str, transfer_syntax: &str, dataset: &[u8]) -> anyhow::Result<Bytes> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_instance)
        .transfer_syntax(transfer_syntax)
        .implementation_class_uid("2.25.302871453011428719637224938710429131517")
        .implementation_version_name("ELYSIUM")
        .build()?;
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    meta.write(&mut file)?;
    file.extend_from_slice(dataset);
    Ok(file.into())
}

fn response(request: &InMemDicomObject, field: u16, status: u16) -> InMemDicomObject {
    let copy = |tag| request.get(tag).and_then(|e| e.to_str().ok()).map(|s| s.into_owned()).unwrap_or_default();
    let message_id = request.get(tags::MESSAGE_ID).and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0);
    InMemDicomObject::command_from_element_iter([
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(copy(tags::AFFECTED_SOP_CLASS_UID)),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, PrimitiveValue::from(field)),
        DataElement::new(tags::MESSAGE_ID_BEING_RESPONDED_TO, VR::US, PrimitiveValue::from(message_id)),
        DataElement::new(tags::COMMAND_DATA_SET_TYPE, VR::US, PrimitiveValue::from(NO_DATA_SET)),
        DataElement::new(tags::STATUS, VR::US, PrimitiveValue::from(status)),
        DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(copy(tags::AFFECTED_SOP_INSTANCE_UID)),
        ),
    ])
}

async fn send_command(
    association: &mut ServerAssociation,
    context: u8,
    command: &InMemDicomObject,
) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    command.write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())?;
    let pdu = Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: context,
            value_type: PDataValueType::Command,
            is_last: true,
            data: bytes,
        }],
    };
    association.send(&pdu).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::DimseConfig;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        dimse: DimseConfig,
    }

    fn parse(flags: &[&str]) -> Result<DimseConfig, clap::Error> {
        Flags::try_parse_from(std::iter::once("elysium").chain(flags.iter().copied())).map(|f| f.dimse)
    }

    #[test]
    fn the_limits_default_to_bounded_values_and_refuse_none() {
        let defaults = parse(&[]).expect("defaults");
        assert!(!defaults.accept_any_ae, "unknown calling AE titles are refused unless opted in");
        assert_eq!((defaults.max_associations, defaults.idle_timeout_secs), (16, 60));
        assert_eq!((defaults.association_timeout_secs, defaults.max_pdu_bytes), (3600, 131_072));
        assert_eq!(defaults.max_instance_bytes, 256 * 1024 * 1024);
        for zero in ["--max-associations", "--idle-timeout-secs", "--association-timeout-secs", "--max-instance-bytes"]
        {
            assert!(parse(&[zero, "0"]).is_err(), "{zero} 0 would mean no limit, or no listener");
        }
        assert!(parse(&["--max-pdu-bytes", "100"]).is_err(), "shorter than any association request");
        assert!(parse(&["--max-pdu-bytes", "4294967295"]).is_err());
    }
}
