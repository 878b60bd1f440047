//! Any bytes as what a sender writes to the C-STORE listener: PDUs read one after another as
//! the listener reads them (dicom-ul's `read_pdu`, its default maximum PDU length, strict), and
//! every P-DATA value through the listener's reassembly (`elysium_dicom::dimse`). It must never
//! panic, and never hold more than the reassembly's limits (libFuzzer's -malloc_limit_mb
//! catches an allocation that a declared length asks for).
#![no_main]

use dicom_ul::pdu::{Pdu, read_pdu};
use elysium_dicom::dimse::{DEFAULT_MAX_PDU_BYTES, MAX_COMMAND_BYTES, Reassembly, Step};
use libfuzzer_sys::fuzz_target;

/// Far below the listener's default (256 MiB), so that inputs of a few kilobytes reach the
/// "too large: drop, then refuse" path too.
const MAX_INSTANCE_BYTES: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut wire = data;
    let mut reassembly = Reassembly::new(MAX_INSTANCE_BYTES);
    loop {
        // `None`: the rest is an incomplete PDU (the listener would wait for more). An error
        // ends the association.
        let Ok(Some(pdu)) = read_pdu(&mut wire, DEFAULT_MAX_PDU_BYTES, true) else { return };
        // Association, release and abort PDUs only go on to the next PDU: the listener hands
        // them to dicom-ul, and reading them is what is fuzzed.
        let Pdu::PData { data: values } = pdu else { continue };
        for value in values {
            match reassembly.value(value) {
                // The listener aborts the association.
                Err(_) => return,
                Ok(Step::Store { dataset, .. }) => assert!(dataset.len() <= MAX_INSTANCE_BYTES),
                Ok(_) => {}
            }
            assert!(reassembly.held_bytes() <= MAX_COMMAND_BYTES + MAX_INSTANCE_BYTES);
        }
    }
});
