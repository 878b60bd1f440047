//! The DICOM C-STORE service class provider: hospitals send CT to Elysium as to any PACS node.
//! Answers C-ECHO; accepts CT Image Storage and Enhanced CT Image Storage (any storage class
//! with `ELYSIUM_ACCEPT_NON_CT`) in the transfer syntaxes `elysium-dicom` accepts. Each received
//! data set is wrapped, unchanged, in Part 10 file meta and stored through the same ingest path
//! as STOW-RS.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::association::Association;
use dicom_ul::association::server::{AccessControl, ServerAssociationOptions};
use dicom_ul::pdu::{AssociationRJServiceUserReason, PDataValue, PDataValueType, Pdu, UserIdentity};
use elysium_dicom::header::{ACCEPTED_TRANSFER_SYNTAXES, CT_IMAGE_STORAGE, ENHANCED_CT_IMAGE_STORAGE};
use tokio::net::TcpListener;

use crate::ingest::{Ingestor, Outcome, Received, Via};

const C_STORE_RQ: u16 = 0x0001;
const C_STORE_RSP: u16 = 0x8001;
const C_ECHO_RQ: u16 = 0x0030;
const C_ECHO_RSP: u16 = 0x8030;
const NO_DATA_SET: u16 = 0x0101;
const STATUS_SUCCESS: u16 = 0x0000;
/// Refused: SOP class not supported (PS3.4 C.4.2.1.4 / Annex B status codes).
const STATUS_UNRECOGNIZED_OPERATION: u16 = 0x0211;

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
    /// Calling AE titles allowed to send, comma-separated (empty: any).
    #[arg(long, env = "ELYSIUM_DICOM_ALLOWED_CALLING", value_delimiter = ',')]
    pub allowed_calling: Vec<String>,
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

    pub fn for_calling(&self, calling_ae: &str) -> Option<uuid::Uuid> {
        let calling_ae = calling_ae.trim();
        self.by_calling_ae.iter().find(|(ae, _)| ae == calling_ae).map(|(_, site)| *site).or(self.default)
    }
}

/// Refuses associations that do not call our AE title, come from an AE not on the list, or
/// come from an AE whose studies would be filed under no site.
struct Gate {
    allowed_calling: Vec<String>,
    sites: Arc<DicomSites>,
}

impl AccessControl for Gate {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        if this_ae_title.trim() != called_ae_title.trim() {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        let calling = calling_ae_title.trim();
        if !self.allowed_calling.is_empty() && !self.allowed_calling.iter().any(|a| a.trim() == calling) {
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        if self.sites.for_calling(calling).is_none() {
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}

/// Accepts associations until the task is dropped; each association runs on its own task.
pub async fn serve(
    listener: TcpListener,
    ingestor: Ingestor,
    config: DimseConfig,
    sites: DicomSites,
    accept_non_ct: bool,
) {
    let config = Arc::new(config);
    let sites = Arc::new(sites);
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "DICOM listener accept failed");
                continue;
            }
        };
        let (ingestor, config, sites) = (ingestor.clone(), config.clone(), sites.clone());
        tokio::spawn(async move {
            if let Err(error) = association(socket, &ingestor, &config, sites, accept_non_ct).await {
                tracing::warn!(%error, %peer, "DICOM association ended with an error");
            }
        });
    }
}

async fn association(
    socket: tokio::net::TcpStream,
    ingestor: &Ingestor,
    config: &DimseConfig,
    sites: Arc<DicomSites>,
    accept_non_ct: bool,
) -> anyhow::Result<()> {
    let sites = Arc::new(sites.with_stored(ingestor.pool()).await?);
    let mut options = ServerAssociationOptions::new()
        .ae_access_control(Gate { allowed_calling: config.allowed_calling.clone(), sites: sites.clone() })
        .ae_title(config.ae_title.clone())
        .with_abstract_syntax(uids::VERIFICATION)
        .with_abstract_syntax(CT_IMAGE_STORAGE)
        .with_abstract_syntax(ENHANCED_CT_IMAGE_STORAGE)
        .promiscuous(accept_non_ct);
    for (uid, _) in ACCEPTED_TRANSFER_SYNTAXES {
        options = options.with_transfer_syntax(*uid);
    }
    let mut association = options.establish_async(socket).await?;
    let calling = association.peer_ae_title().to_owned();
    let contexts: BTreeMap<u8, (String, String)> = association
        .presentation_contexts()
        .iter()
        .map(|pc| (pc.id, (pc.abstract_syntax.clone(), pc.transfer_syntax.clone())))
        .collect();
    tracing::info!(%calling, "DICOM association accepted");

    // The gate refused calling AE titles without a site, so this is never `None` here.
    let Some(site_id) = sites.for_calling(&calling) else {
        anyhow::bail!("no site for calling AE title {calling}");
    };
    let received = Received::new(Via::Cstore, site_id);
    let mut command = Vec::new();
    let mut data = Vec::new();
    let mut pending: Option<InMemDicomObject> = None;
    // What this association stored: at its release, a completion hint for those series.
    let mut stored: Vec<Outcome> = Vec::new();
    loop {
        match association.receive().await? {
            Pdu::PData { data: values } => {
                for PDataValue { presentation_context_id, value_type, is_last, data: bytes } in values {
                    match value_type {
                        PDataValueType::Command => {
                            command.extend_from_slice(&bytes);
                            if !is_last {
                                continue;
                            }
                            let cmd = InMemDicomObject::read_dataset_with_ts(
                                command.as_slice(),
                                &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
                            )?;
                            command.clear();
                            let field = cmd.get(tags::COMMAND_FIELD).and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0);
                            let has_data = cmd.get(tags::COMMAND_DATA_SET_TYPE).and_then(|e| e.to_int::<u16>().ok())
                                != Some(NO_DATA_SET);
                            match field {
                                C_ECHO_RQ => {
                                    let rsp = response(&cmd, C_ECHO_RSP, STATUS_SUCCESS);
                                    send_command(&mut association, presentation_context_id, &rsp).await?;
                                }
                                C_STORE_RQ if has_data => pending = Some(cmd),
                                _ => {
                                    let rsp = response(&cmd, field | 0x8000, STATUS_UNRECOGNIZED_OPERATION);
                                    send_command(&mut association, presentation_context_id, &rsp).await?;
                                }
                            }
                        }
                        PDataValueType::Data => {
                            data.extend_from_slice(&bytes);
                            if !is_last {
                                continue;
                            }
                            let Some(cmd) = pending.take() else {
                                data.clear();
                                continue;
                            };
                            let dataset = std::mem::take(&mut data);
                            let (sop_class, transfer_syntax) =
                                contexts.get(&presentation_context_id).cloned().unwrap_or_default();
                            let outcome = store(ingestor, &received, &cmd, &sop_class, &transfer_syntax, dataset).await;
                            let status = status_of(&outcome);
                            if let Some(outcome @ Outcome::Stored(_)) = outcome {
                                stored.push(outcome);
                            }
                            let rsp = response(&cmd, C_STORE_RSP, status);
                            send_command(&mut association, presentation_context_id, &rsp).await?;
                        }
                    }
                }
            }
            Pdu::ReleaseRQ => {
                // The sender says it is done (an abort says nothing of the kind).
                ingestor.sender_done(&stored).await;
                association.send(&Pdu::ReleaseRP).await?;
                tracing::info!(%calling, "DICOM association released");
                return Ok(());
            }
            Pdu::AbortRQ { .. } => {
                tracing::info!(%calling, "DICOM association aborted by the peer");
                return Ok(());
            }
            other => tracing::debug!(?other, "ignoring an unexpected PDU"),
        }
    }
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
    let text = |tag| cmd.get(tag).and_then(|e| e.to_str().ok()).map(|s| s.trim_end_matches(['\0', ' ']).to_owned());
    let instance = text(tags::AFFECTED_SOP_INSTANCE_UID).unwrap_or_default();
    let class = text(tags::AFFECTED_SOP_CLASS_UID).unwrap_or_else(|| sop_class.to_owned());
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

async fn send_command<S>(
    association: &mut dicom_ul::association::server::AsyncServerAssociation<S>,
    context: u8,
    command: &InMemDicomObject,
) -> anyhow::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
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
