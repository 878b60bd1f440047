//! Who may open an association. A calling AE title is accepted when all of these hold:
//!
//! 1. it calls our AE title (`ELYSIUM_AE_TITLE`);
//! 2. it is on `ELYSIUM_DICOM_ALLOWED_CALLING`, when that list is set;
//! 3. it is known: it has a site of its own (`ELYSIUM_DICOM_AE_SITES` or the sites page), or is
//!    on `ELYSIUM_DICOM_ALLOWED_CALLING`, or `ELYSIUM_DICOM_ACCEPT_ANY_AE=true` says that any
//!    title will do;
//! 4. its studies have a site to be filed under (its own, else `ELYSIUM_DICOM_SITE`).
//!
//! Rule 3 is the safe default: a default site (`ELYSIUM_DICOM_SITE`) no longer lets any device
//! on the network file studies there under any title it cares to send. Demo mode opts in to any
//! title (on a loopback listener only; see `serve::start_dimse`), as the tests do where the
//! title does not matter.

use std::sync::{Arc, Mutex};

use dicom_ul::association::server::AccessControl;
use dicom_ul::pdu::{AssociationRJServiceUserReason, UserIdentity};

use super::DicomSites;
use super::audit::printable;

/// What the gate saw of an association request, for the audit row: the listener learns the
/// calling title of a refused request only here.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub calling: Option<String>,
    pub called: Option<String>,
    pub refusal: Option<&'static str>,
}

pub struct Gate {
    pub allowed_calling: Vec<String>,
    pub accept_any_ae: bool,
    pub sites: Arc<DicomSites>,
    pub seen: Arc<Mutex<Seen>>,
}

impl Gate {
    /// Why a request from `calling` to `called` is refused (the rules above), or `None`.
    pub fn refusal(&self, this_ae_title: &str, calling: &str, called: &str) -> Option<&'static str> {
        let calling = calling.trim();
        let listed = self.allowed_calling.iter().any(|a| a.trim() == calling);
        if this_ae_title.trim() != called.trim() {
            Some("the called AE title is not ours")
        } else if !self.allowed_calling.is_empty() && !listed {
            Some("the calling AE title is not on ELYSIUM_DICOM_ALLOWED_CALLING")
        } else if !(listed || self.accept_any_ae || self.sites.has_own(calling)) {
            Some(
                "the calling AE title is unknown: give it a site on the sites page (or in \
                 ELYSIUM_DICOM_AE_SITES), list it in ELYSIUM_DICOM_ALLOWED_CALLING, or set \
                 ELYSIUM_DICOM_ACCEPT_ANY_AE=true",
            )
        } else if self.sites.for_calling(calling).is_none() {
            Some("no site to file the calling AE title's studies under")
        } else {
            None
        }
    }
}

impl AccessControl for Gate {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        let refusal = self.refusal(this_ae_title, calling_ae_title, called_ae_title);
        if let Ok(mut seen) = self.seen.lock() {
            *seen =
                Seen { calling: Some(printable(calling_ae_title)), called: Some(printable(called_ae_title)), refusal };
        }
        match refusal {
            None => Ok(()),
            Some(_) if this_ae_title.trim() != called_ae_title.trim() => {
                Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized)
            }
            Some(_) => Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(allowed: &[&str], accept_any_ae: bool, default_site: bool) -> Gate {
        let site = uuid::Uuid::from_u128(7);
        let sites = DicomSites {
            default: default_site.then_some(site),
            by_calling_ae: vec![("RC-PACS".into(), uuid::Uuid::from_u128(8))],
        };
        Gate {
            allowed_calling: allowed.iter().map(|a| a.to_string()).collect(),
            accept_any_ae,
            sites: Arc::new(sites),
            seen: Arc::default(),
        }
    }

    #[test]
    fn a_default_site_alone_admits_no_unknown_title() {
        let gate = gate(&[], false, true);
        assert_eq!(gate.refusal("ELYSIUM", "RC-PACS", "ELYSIUM"), None, "a title with a site of its own");
        assert!(gate.refusal("ELYSIUM", "STRANGER", "ELYSIUM").is_some_and(|r| r.contains("unknown")));
        assert!(gate.refusal("ELYSIUM", "RC-PACS", "OTHER").is_some_and(|r| r.contains("called")));
    }

    #[test]
    fn the_allow_list_and_the_opt_in_admit_titles_filed_at_the_default_site() {
        let listed = gate(&["MODALITY1"], false, true);
        assert_eq!(listed.refusal("ELYSIUM", "MODALITY1 ", "ELYSIUM"), None);
        assert!(listed.refusal("ELYSIUM", "RC-PACS", "ELYSIUM").is_some(), "the list, when set, binds every title");
        assert_eq!(gate(&[], true, true).refusal("ELYSIUM", "STRANGER", "ELYSIUM"), None);
        // Opting in does not invent a site.
        assert!(gate(&[], true, false).refusal("ELYSIUM", "STRANGER", "ELYSIUM").is_some_and(|r| r.contains("site")));
    }
}
