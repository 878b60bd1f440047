//! DIMSE messages as they arrive over an association (PS3.7 §9, PS3.8 §9.3.5): P-DATA values
//! reassembled into command sets and data sets within bounds, and what each complete message
//! asks of the listener. Synchronous and free of I/O, so that the C-STORE listener (the
//! server's `dimse`) keeps only the network and the storage, and the fuzz target `pdu` can drive
//! it with any bytes.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::pdu::{PDataValue, PDataValueType};

pub const C_STORE_RQ: u16 = 0x0001;
pub const C_STORE_RSP: u16 = 0x8001;
pub const C_ECHO_RQ: u16 = 0x0030;
pub const C_ECHO_RSP: u16 = 0x8030;
/// Command Data Set Type (0000,0800) of a command with no data set after it.
pub const NO_DATA_SET: u16 = 0x0101;
/// A command set is a handful of short elements (PS3.7 §9.3); one longer than this is no
/// command, and ends the association rather than growing a buffer.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;
/// The longest PDU the listener accepts unless configured otherwise (`ELYSIUM_DICOM_MAX_PDU_BYTES`),
/// read strictly: a longer one is an error, not a bigger buffer.
pub const DEFAULT_MAX_PDU_BYTES: u32 = 131_072;

/// A sender that breaks the protocol: the association ends.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolFailure {
    #[error("a command set longer than {MAX_COMMAND_BYTES} bytes")]
    CommandTooLong,
    /// A declared length dicom-rs would trust (it reserves a value's declared length before
    /// reading it): refused before the parse.
    #[error("an unreadable command set: {0}")]
    CommandLengths(String),
    #[error("an unreadable command set: {0}")]
    UnreadableCommand(#[source] dicom_object::ReadError),
}

/// What the listener must do after a P-DATA value.
#[derive(Debug)]
pub enum Step {
    /// Nothing yet: the message is incomplete, or it needs no answer (a data set with no
    /// C-STORE request before it).
    Continue,
    /// A C-ECHO request: answer it with success.
    Echo { context: u8, command: InMemDicomObject },
    /// A C-STORE request and its whole data set, as sent, to store and answer.
    Store { context: u8, command: InMemDicomObject, dataset: Vec<u8> },
    /// A C-STORE whose data set passed the instance limit: its bytes were dropped as they came;
    /// refuse it (out of resources). The association goes on.
    RefuseTooLarge { context: u8, command: InMemDicomObject },
    /// A command this listener does not serve (`field`, the request's Command Field, 0 when
    /// missing), or a C-STORE that says it has no data set: refuse it (unrecognised operation).
    Unrecognised { context: u8, command: InMemDicomObject, field: u16 },
}

/// One association's P-DATA reassembly: the command set and the data set arriving, and the
/// C-STORE request the data set belongs to.
#[derive(Debug)]
pub struct Reassembly {
    max_instance_bytes: usize,
    command: Vec<u8>,
    data: Vec<u8>,
    /// The C-STORE request whose data set is arriving.
    pending: Option<InMemDicomObject>,
    /// The data set arriving is past `max_instance_bytes`: its fragments are dropped until the
    /// last, which is answered with a refusal.
    too_large: bool,
}

impl Reassembly {
    /// Holds at most [`MAX_COMMAND_BYTES`] of command set and `max_instance_bytes` of data set.
    pub fn new(max_instance_bytes: usize) -> Reassembly {
        Reassembly { max_instance_bytes, command: Vec::new(), data: Vec::new(), pending: None, too_large: false }
    }

    /// The bytes of messages being reassembled that this holds now.
    pub fn held_bytes(&self) -> usize {
        self.command.len() + self.data.len()
    }

    /// Takes one P-DATA value (PDV) of a P-DATA-TF PDU.
    pub fn value(&mut self, value: PDataValue) -> Result<Step, ProtocolFailure> {
        let PDataValue { presentation_context_id: context, value_type, is_last, data } = value;
        match value_type {
            PDataValueType::Command => self.command_fragment(context, &data, is_last),
            PDataValueType::Data => Ok(self.data_fragment(context, &data, is_last)),
        }
    }

    pub fn command_fragment(&mut self, context: u8, bytes: &[u8], is_last: bool) -> Result<Step, ProtocolFailure> {
        if self.command.len() + bytes.len() > MAX_COMMAND_BYTES {
            return Err(ProtocolFailure::CommandTooLong);
        }
        self.command.extend_from_slice(bytes);
        if !is_last {
            return Ok(Step::Continue);
        }
        let bytes = std::mem::take(&mut self.command);
        check_command_lengths(&bytes).map_err(ProtocolFailure::CommandLengths)?;
        // Command sets are always implicit VR little endian (PS3.7 §6.3.1).
        let command = InMemDicomObject::read_dataset_with_ts(bytes.as_slice(), &IMPLICIT_VR_LITTLE_ENDIAN.erased())
            .map_err(ProtocolFailure::UnreadableCommand)?;
        let field = command.get(tags::COMMAND_FIELD).and_then(|e| e.to_int::<u16>().ok()).unwrap_or(0);
        let has_data =
            command.get(tags::COMMAND_DATA_SET_TYPE).and_then(|e| e.to_int::<u16>().ok()) != Some(NO_DATA_SET);
        Ok(match field {
            C_ECHO_RQ => Step::Echo { context, command },
            C_STORE_RQ if has_data => {
                self.pending = Some(command);
                Step::Continue
            }
            _ => Step::Unrecognised { context, command, field },
        })
    }

    pub fn data_fragment(&mut self, context: u8, bytes: &[u8], is_last: bool) -> Step {
        let limit = self.max_instance_bytes;
        if !self.too_large && self.data.len() + bytes.len() > limit {
            tracing::warn!(limit, "a C-STORE data set passed ELYSIUM_DICOM_MAX_INSTANCE_BYTES; refusing it");
            self.too_large = true;
            // Give the memory back now, not when the sender finally stops.
            self.data = Vec::new();
        }
        if !self.too_large {
            self.data.extend_from_slice(bytes);
        }
        if !is_last {
            return Step::Continue;
        }
        let too_large = std::mem::take(&mut self.too_large);
        let dataset = std::mem::take(&mut self.data);
        let Some(command) = self.pending.take() else {
            // A data set with no C-STORE before it: nothing to answer.
            return Step::Continue;
        };
        if too_large {
            return Step::RefuseTooLarge { context, command };
        }
        Step::Store { context, command, dataset }
    }
}

const UNDEFINED_LENGTH: u32 = 0xFFFF_FFFF;

/// Walks a command set's element headers (implicit VR little endian: tag, 4-byte length) as
/// dicom-rs will read them, and refuses what would make it reserve more than the bytes there
/// are: a length past the end, an undefined length, a sequence (whose items it would read by
/// their own lengths), and a binary value that is not a whole number of values (dicom-rs reads
/// whole values only, then reads on from the wrong place, where any bytes can pass for a huge
/// length). A command set is flat group 0000 elements (PS3.7 §E.1), so none of these is one. A
/// 70-byte P-DATA declaring a 2 GB Command Field made dicom-rs reserve 2 GB (found by fuzzing,
/// target `pdu`).
fn check_command_lengths(command: &[u8]) -> Result<(), String> {
    let mut rest = command;
    while !rest.is_empty() {
        let Some((header, after)) = rest.split_first_chunk::<8>() else {
            return Err(format!("{} bytes after the last element, too few for another", rest.len()));
        };
        let tag = Tag(u16::from_le_bytes([header[0], header[1]]), u16::from_le_bytes([header[2], header[3]]));
        let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if length == UNDEFINED_LENGTH {
            return Err(format!("element {tag} has an undefined length"));
        }
        let Some((_, after)) = usize::try_from(length).ok().and_then(|length| after.split_at_checked(length)) else {
            return Err(format!("element {tag} declares {length} bytes but only {} follow", after.len()));
        };
        let vr = implicit_vr(tag);
        if vr == VR::SQ {
            return Err(format!("element {tag} is a sequence"));
        }
        if !(length as usize).is_multiple_of(crate::lengths::value_size(&vr.to_bytes())) {
            return Err(format!("element {tag} {vr}: {length} bytes is not a whole number of values"));
        }
        rest = after;
    }
    Ok(())
}

/// The VR dicom-rs gives an element read in implicit VR little endian (dicom-encoding's
/// `ImplicitVRLittleEndianDecoder`): OW for pixel and overlay data, else the standard
/// dictionary's (relaxed: US for US or SS, OW for OB or OW), else UN.
fn implicit_vr(tag: Tag) -> VR {
    if tag == tags::PIXEL_DATA || (tag.0 >> 8 == 0x60 && tag.1 == 0x3000) {
        return VR::OW;
    }
    StandardDataDictionary.by_tag(tag).map(|entry| entry.vr().relaxed()).unwrap_or(VR::UN)
}

#[cfg(test)]
mod tests {
    use dicom_core::Tag;
    use dicom_dictionary_std::tags;
    use dicom_object::InMemDicomObject;
    use dicom_ul::pdu::{PDataValue, PDataValueType};

    use super::{MAX_COMMAND_BYTES, ProtocolFailure, Reassembly, Step};

    /// An implicit VR little endian element: tag, 4-byte length, value (already even).
    fn element(group: u16, number: u16, value: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&group.to_le_bytes());
        bytes.extend_from_slice(&number.to_le_bytes());
        bytes.extend_from_slice(&u32::try_from(value.len()).expect("short").to_le_bytes());
        bytes.extend_from_slice(value);
        bytes
    }

    /// A command set with Affected SOP Class and Instance UIDs, the Command Field, Message ID 7
    /// and the Command Data Set Type, written out byte by byte.
    fn command(field: u16, data_set_type: u16) -> Vec<u8> {
        [
            element(0x0000, 0x0002, b"1.2.840.10008.5.1.4.1.1.2\0"),
            element(0x0000, 0x0100, &field.to_le_bytes()),
            element(0x0000, 0x0110, &7u16.to_le_bytes()),
            element(0x0000, 0x0800, &data_set_type.to_le_bytes()),
            element(0x0000, 0x1000, b"1.2.3.4\0"),
        ]
        .concat()
    }

    const C_ECHO: [u8; 2] = [0x30, 0x00];
    const C_STORE: [u8; 2] = [0x01, 0x00];
    const C_FIND: [u8; 2] = [0x20, 0x00];
    const HAS_DATA: u16 = 0x0000;
    const NO_DATA: u16 = 0x0101;

    fn field(command: &InMemDicomObject, tag: Tag) -> u16 {
        command.get(tag).and_then(|e| e.to_int::<u16>().ok()).expect("a US element")
    }

    fn step(reassembly: &mut Reassembly, value_type: PDataValueType, context: u8, data: &[u8], is_last: bool) -> Step {
        let value = PDataValue { presentation_context_id: context, value_type, is_last, data: data.to_vec() };
        reassembly.value(value).expect("no protocol failure")
    }

    #[test]
    fn a_c_echo_in_one_fragment_asks_for_an_echo_reply() {
        let mut reassembly = Reassembly::new(1024);
        let echo = command(u16::from_le_bytes(C_ECHO), NO_DATA);
        match step(&mut reassembly, PDataValueType::Command, 1, &echo, true) {
            Step::Echo { context: 1, command } => {
                assert_eq!(field(&command, tags::MESSAGE_ID), 7);
                assert_eq!(field(&command, tags::COMMAND_FIELD), 0x0030);
            }
            other => panic!("expected an echo on context 1, got {other:?}"),
        }
        assert_eq!(reassembly.held_bytes(), 0);
    }

    #[test]
    fn a_command_in_three_fragments_is_read_at_the_last() {
        let mut reassembly = Reassembly::new(1024);
        let echo = command(0x0030, NO_DATA);
        let (first, rest) = echo.split_at(5);
        let (second, third) = rest.split_at(20);
        assert!(matches!(step(&mut reassembly, PDataValueType::Command, 1, first, false), Step::Continue));
        assert_eq!(reassembly.held_bytes(), 5);
        assert!(matches!(step(&mut reassembly, PDataValueType::Command, 1, second, false), Step::Continue));
        assert_eq!(reassembly.held_bytes(), 25);
        assert!(matches!(
            step(&mut reassembly, PDataValueType::Command, 1, third, true),
            Step::Echo { context: 1, .. }
        ));
        assert_eq!(reassembly.held_bytes(), 0);
    }

    #[test]
    fn a_c_store_waits_for_its_data_set_and_gets_it_whole_on_the_last_fragments_context() {
        let mut reassembly = Reassembly::new(1024);
        let store = command(u16::from_le_bytes(C_STORE), HAS_DATA);
        assert!(matches!(step(&mut reassembly, PDataValueType::Command, 3, &store, true), Step::Continue));
        assert!(matches!(step(&mut reassembly, PDataValueType::Data, 3, b"\x08\x00\x16\x00", false), Step::Continue));
        assert_eq!(reassembly.held_bytes(), 4);
        match step(&mut reassembly, PDataValueType::Data, 5, b"\x04\x00\x00\x00abcd", true) {
            Step::Store { context: 5, command, dataset } => {
                assert_eq!(dataset, b"\x08\x00\x16\x00\x04\x00\x00\x00abcd");
                assert_eq!(field(&command, tags::COMMAND_FIELD), 0x0001);
                assert_eq!(field(&command, tags::MESSAGE_ID), 7);
            }
            other => panic!("expected a store on context 5, got {other:?}"),
        }
        assert_eq!(reassembly.held_bytes(), 0);
    }

    #[test]
    fn a_data_set_past_the_limit_is_dropped_as_it_comes_and_refused_at_its_last_fragment() {
        let mut reassembly = Reassembly::new(8);
        let store = command(0x0001, HAS_DATA);
        assert!(matches!(step(&mut reassembly, PDataValueType::Command, 1, &store, true), Step::Continue));
        assert!(matches!(step(&mut reassembly, PDataValueType::Data, 1, b"12345", false), Step::Continue));
        assert_eq!(reassembly.held_bytes(), 5);
        // 5 + 5 > 8: the 5 held are given back, and nothing more is kept.
        assert!(matches!(step(&mut reassembly, PDataValueType::Data, 1, b"67890", false), Step::Continue));
        assert_eq!(reassembly.held_bytes(), 0);
        assert!(matches!(step(&mut reassembly, PDataValueType::Data, 1, b"ab", false), Step::Continue));
        assert_eq!(reassembly.held_bytes(), 0);
        match step(&mut reassembly, PDataValueType::Data, 1, b"c", true) {
            Step::RefuseTooLarge { context: 1, command } => assert_eq!(field(&command, tags::MESSAGE_ID), 7),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // The association goes on: the next instance, within the limit, is stored.
        assert!(matches!(step(&mut reassembly, PDataValueType::Command, 1, &store, true), Step::Continue));
        match step(&mut reassembly, PDataValueType::Data, 1, b"12345678", true) {
            Step::Store { dataset, .. } => assert_eq!(dataset, b"12345678"),
            other => panic!("expected a store, got {other:?}"),
        }
    }

    #[test]
    fn a_data_set_that_passes_the_limit_at_its_last_fragment_is_refused() {
        let mut reassembly = Reassembly::new(8);
        assert!(matches!(
            step(&mut reassembly, PDataValueType::Command, 1, &command(1, HAS_DATA), true),
            Step::Continue
        ));
        assert!(matches!(
            step(&mut reassembly, PDataValueType::Data, 1, b"123456789", true),
            Step::RefuseTooLarge { .. }
        ));
        assert_eq!(reassembly.held_bytes(), 0);
    }

    #[test]
    fn other_commands_and_a_c_store_without_data_set_are_unrecognised() {
        let mut reassembly = Reassembly::new(1024);
        let find = command(u16::from_le_bytes(C_FIND), HAS_DATA);
        assert!(matches!(
            step(&mut reassembly, PDataValueType::Command, 1, &find, true),
            Step::Unrecognised { context: 1, field: 0x0020, .. }
        ));
        let store_without_data = command(0x0001, NO_DATA);
        assert!(matches!(
            step(&mut reassembly, PDataValueType::Command, 1, &store_without_data, true),
            Step::Unrecognised { context: 1, field: 0x0001, .. }
        ));
        // No Command Field at all: field 0.
        let nameless = element(0x0000, 0x0110, &[9, 0]);
        assert!(matches!(
            step(&mut reassembly, PDataValueType::Command, 2, &nameless, true),
            Step::Unrecognised { context: 2, field: 0, .. }
        ));
    }

    #[test]
    fn a_data_set_without_a_c_store_before_it_is_dropped_unanswered() {
        let mut reassembly = Reassembly::new(1024);
        assert!(matches!(step(&mut reassembly, PDataValueType::Data, 1, b"1234", false), Step::Continue));
        assert!(matches!(step(&mut reassembly, PDataValueType::Data, 1, b"5678", true), Step::Continue));
        assert_eq!(reassembly.held_bytes(), 0);
    }

    #[test]
    fn a_command_set_longer_than_the_limit_is_a_protocol_failure() {
        let mut reassembly = Reassembly::new(1024);
        let half = vec![0u8; MAX_COMMAND_BYTES / 2];
        assert!(matches!(reassembly.command_fragment(1, &half, false), Ok(Step::Continue)));
        assert!(matches!(reassembly.command_fragment(1, &half, false), Ok(Step::Continue)));
        assert_eq!(reassembly.held_bytes(), 65_536);
        let failure = reassembly.command_fragment(1, &[0], true).err();
        assert!(matches!(failure, Some(ProtocolFailure::CommandTooLong)), "{failure:?}");
        assert_eq!(failure.map(|f| f.to_string()).as_deref(), Some("a command set longer than 65536 bytes"));
    }

    fn refusal(command: &[u8]) -> String {
        match Reassembly::new(1024).command_fragment(1, command, true) {
            Err(failure @ ProtocolFailure::CommandLengths(_)) => failure.to_string(),
            other => panic!("expected a refusal before the parse, got {other:?}"),
        }
    }

    #[test]
    fn a_command_length_dicom_rs_would_reserve_blindly_is_refused_before_the_parse() {
        // The fuzz finding: (0000,0100) declaring 2 GB (0x80000002 bytes), 4 bytes after it.
        assert_eq!(
            refusal(b"\x00\x00\x00\x01\x02\x00\x00\x80\x30\x00\x00\x00"),
            "an unreadable command set: element (0000,0100) declares 2147483650 bytes but only 4 follow"
        );
        assert_eq!(
            refusal(b"\x00\x00\x00\x01\xff\xff\xff\xff\x30\x00"),
            "an unreadable command set: element (0000,0100) has an undefined length"
        );
        // A US of 3 bytes: dicom-rs would read one value and go on a byte off.
        assert_eq!(
            refusal(b"\x00\x00\x00\x01\x03\x00\x00\x00\x30\x00\x00"),
            "an unreadable command set: element (0000,0100) US: 3 bytes is not a whole number of values"
        );
        // Referenced Series Sequence (0008,1115): items with lengths of their own.
        assert_eq!(
            refusal(b"\x08\x00\x15\x11\x00\x00\x00\x00"),
            "an unreadable command set: element (0008,1115) is a sequence"
        );
        assert_eq!(
            refusal(b"\x00\x00\x00\x01\x02\x00\x00\x00\x30\x00\x00\x00\x10"),
            "an unreadable command set: 3 bytes after the last element, too few for another"
        );
    }
}
