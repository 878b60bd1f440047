"""Checks a de-identified export of Elysium with pydicom, an implementation independent of the
one that wrote it (dicom-rs), against the originals in the object store it was made from.

For every DICOM file of the export:
  - Patient Identity Removed (0012,0062) is YES; De-identification Method Code Sequence
    (0012,0064) holds DCM 113100 (Basic Application Confidentiality Profile) and 113107 (Retain
    Longitudinal Temporal Information Modified Dates Option); Longitudinal Temporal Information
    Modified (0028,0303) is MODIFIED;
  - no private attribute, at any depth;
  - none of the attributes the Basic Profile removes (X): a short list written out here from
    DICOM PS3.15 Table E.1-1, and every X row of the committed table file read here on its own;
  - Patient's Name and Patient ID are the pseudonym its folder is named after; the Z attributes
    (birth date, accession number, referring physician, study ID) are empty;
  - it is the copy of exactly one original: its UIDs are the key's replacements of the
    original's (HMAC-SHA256, as the README states), differ from them, and keep the grouping
    (one new study per original study and back, the same for series); its pixel data is the
    original's, byte for byte; its transfer syntax is the original's;
  - its dates are the original's moved by one number of days per patient, in -365..-1.
Every original of an exported study is exported. The tables and the manifest hold none of the
originals' patient IDs, names, accession numbers or UIDs.

Usage: deid_check.py EXPORT ORIGINALS TABLE_TSV (the key in ELYSIUM_EXPORT_KEY)
"""

import csv
import datetime
import hashlib
import hmac
import json
import os
import re
import sys
from collections import defaultdict

import pydicom

# DICOM PS3.15 Table E.1-1, Basic Profile action X (removed), a few of the patient, physician,
# request and free-text attributes; and the ones with compound actions whose first
# alternative, X, Elysium takes (X/Z/D, X/D).
REMOVED = {
    0x00101000: "Other Patient IDs",
    0x00101001: "Other Patient Names",
    0x00101002: "Other Patient IDs Sequence",
    0x00101010: "Patient's Age",
    0x00101020: "Patient's Size",
    0x00101030: "Patient's Weight",
    0x00101040: "Patient's Address",
    0x00102154: "Patient's Telephone Numbers",
    0x001021B0: "Additional Patient History",
    0x00104000: "Patient Comments",
    0x00100021: "Issuer of Patient ID",
    0x00080081: "Institution Address",
    0x00081040: "Institutional Department Name",
    0x00081048: "Physician(s) of Record",
    0x00081050: "Performing Physician's Name",
    0x00081060: "Name of Physician(s) Reading Study",
    0x00080092: "Referring Physician's Address",
    0x00080094: "Referring Physician's Telephone Numbers",
    0x00081030: "Study Description",
    0x0008103E: "Series Description",
    0x00204000: "Image Comments",
    0x00321032: "Requesting Physician",
    0x00400275: "Request Attributes Sequence",
    0x00400253: "Performed Procedure Step ID",
    0x00400254: "Performed Procedure Step Description",
    0x00880200: "Icon Image Sequence",
    # X, with C in the Modified Dates Option's column, yet not a date or time:
    0x00080201: "Timezone Offset From UTC",
    # X/Z/D and X/D:
    0x00080080: "Institution Name",
    0x00081010: "Station Name",
    0x00081070: "Operators' Name",
    0x00181000: "Device Serial Number",
    0x00181030: "Protocol Name",
}
# Basic Profile action Z (and Z/D): present with no value, when present at all.
EMPTIED = {
    0x00100030: "Patient's Birth Date",
    0x00080050: "Accession Number",
    0x00080090: "Referring Physician's Name",
    0x00200010: "Study ID",
}
DATES = [0x00080020, 0x00080021, 0x00080022, 0x00080023]  # study, series, acquisition, content
PSEUDONYM = re.compile(r"^P[0-9A-F]{16}$")

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def removed_in_table(path):
    """The exact tags the table file lists with basic action X (but for the dates and times the
    Modified Dates Option shifts instead: its column says C)."""
    tags = set()
    with open(path, encoding="utf-8") as table:
        rows = [line.rstrip("\n").split("\t") for line in table if not line.startswith("#")]
    for tag, _name, basic, option in rows[1:]:
        match = re.fullmatch(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)", tag)
        if match and basic == "X" and option != "C":
            tags.add(int(match.group(1) + match.group(2), 16))
    return tags


def new_uid(key, uid):
    digest = hmac.new(key, b"uid\x00" + uid.encode(), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def day(value):
    return datetime.datetime.strptime(value, "%Y%m%d").date()


def text(ds, keyword):
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def main():
    export, originals, table_file = sys.argv[1:4]
    key = os.environ["ELYSIUM_EXPORT_KEY"].encode()
    removed = removed_in_table(table_file)
    assert len(removed) > 250, f"the table file lists {len(removed)} X attributes"
    not_plain_x = {0x00080201, 0x00080080, 0x00081010, 0x00081070, 0x00181000, 0x00181030}
    assert set(REMOVED) - not_plain_x <= removed, "the table file's X rows include the list written out here"

    # The originals by their replacement SOP Instance UID.
    by_new_sop = {}
    instances_of_study = defaultdict(set)
    for folder, _dirs, names in os.walk(originals):
        for name in names:
            path = os.path.join(folder, name)
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            by_new_sop[new_uid(key, ds.SOPInstanceUID)] = path
            instances_of_study[ds.StudyInstanceUID].add(ds.SOPInstanceUID)
    print(f"[deid] {len(by_new_sop)} originals in the object store")

    exported = []
    for folder, _dirs, names in os.walk(os.path.join(export, "dicom")):
        exported += [os.path.join(folder, n) for n in names]
    if not exported:
        fail(export, "no DICOM file was exported")

    study_map, series_map = defaultdict(set), defaultdict(set)
    study_back, series_back = defaultdict(set), defaultdict(set)
    shifts = defaultdict(set)
    exported_sources = defaultdict(set)
    identifiers = set()
    for path in sorted(exported):
        where = os.path.relpath(path, export)
        pseudonym, study, series, file = os.path.relpath(path, os.path.join(export, "dicom")).split(os.sep)
        ds = pydicom.dcmread(path)

        if text(ds, "PatientIdentityRemoved") != "YES":
            fail(where, "Patient Identity Removed is not YES")
        codes = {(c.CodingSchemeDesignator, c.CodeValue) for c in ds.get("DeidentificationMethodCodeSequence", [])}
        for code in ("113100", "113107"):
            if ("DCM", code) not in codes:
                fail(where, f"DCM {code} missing from the De-identification Method Code Sequence")
        if text(ds, "LongitudinalTemporalInformationModified") != "MODIFIED":
            fail(where, "Longitudinal Temporal Information Modified is not MODIFIED")
        for element in ds.iterall():
            if element.tag.is_private:
                fail(where, f"private attribute {element.tag}")
            if int(element.tag) in removed or int(element.tag) in REMOVED:
                fail(where, f"{element.tag} {element.keyword} should have been removed")
        for tag, name in EMPTIED.items():
            if tag in ds and str(ds[tag].value or "").strip():
                fail(where, f"{name} is not empty")
        if not PSEUDONYM.match(pseudonym):
            fail(where, f"folder {pseudonym} is not a pseudonym")
        if text(ds, "PatientName") != pseudonym or text(ds, "PatientID") != pseudonym:
            fail(where, "Patient's Name and Patient ID are not the folder's pseudonym")
        if (study, series, file) != (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID + ".dcm"):
            fail(where, "the path does not name the file's own UIDs")

        source_path = by_new_sop.get(ds.SOPInstanceUID)
        if source_path is None:
            fail(where, "no original has this file's SOP Instance UID as its replacement")
            continue
        source = pydicom.dcmread(source_path)
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"):
            original = text(source, keyword)
            if original and (text(ds, keyword) != new_uid(key, original) or text(ds, keyword) == original):
                fail(where, f"{keyword} is not the key's replacement of the original's")
        study_map[source.StudyInstanceUID].add(ds.StudyInstanceUID)
        study_back[ds.StudyInstanceUID].add(source.StudyInstanceUID)
        series_map[source.SeriesInstanceUID].add(ds.SeriesInstanceUID)
        series_back[ds.SeriesInstanceUID].add(source.SeriesInstanceUID)
        exported_sources[source.StudyInstanceUID].add(source.SOPInstanceUID)
        if ds.file_meta.TransferSyntaxUID != source.file_meta.TransferSyntaxUID:
            fail(where, "the transfer syntax changed")
        if getattr(ds, "PixelData", None) != getattr(source, "PixelData", None):
            fail(where, "the pixel data differs from the original's")
        for tag in DATES:
            if tag in source and str(source[tag].value).strip():
                if tag not in ds or not str(ds[tag].value).strip():
                    fail(where, f"date {pydicom.datadict.keyword_for_tag(tag)} was not kept (shifted)")
                    continue
                shifts[pseudonym].add((day(str(ds[tag].value)) - day(str(source[tag].value))).days)
        identifiers.update(
            v for v in (text(source, "PatientID"), text(source, "PatientName"), text(source, "AccessionNumber"),
                        source.StudyInstanceUID, source.SeriesInstanceUID, source.SOPInstanceUID) if len(v) >= 4)

    for original, new in list(study_map.items()) + list(series_map.items()):
        if len(new) != 1:
            fail(original, f"one original study or series became {len(new)}")
    for new, original in list(study_back.items()) + list(series_back.items()):
        if len(original) != 1:
            fail(new, f"{len(original)} original studies or series were merged")
    for study, sources in exported_sources.items():
        missing = instances_of_study[study] - sources
        if missing:
            fail("dicom", f"{len(missing)} instances of an exported study were not exported")
    for pseudonym, days in shifts.items():
        if len(days) != 1 or not all(-365 <= d <= -1 for d in days):
            fail(pseudonym, f"dates moved by {sorted(days)} days: one shift in -365..-1 expected")

    for name in ("findings.csv", "mdt_decisions.csv", "manifest.json"):
        content = open(os.path.join(export, name), encoding="utf-8").read()
        for value in identifiers:
            if value in content:
                fail(name, "holds an identifier of an original")
                break
    with open(os.path.join(export, "findings.csv"), encoding="utf-8") as table:
        rows = list(csv.DictReader(table))
    folders = {}
    for path in exported:
        pseudonym, study = os.path.relpath(path, os.path.join(export, "dicom")).split(os.sep)[:2]
        folders[study] = pseudonym
    for row in rows:
        if not PSEUDONYM.match(row["patient_pseudonym"]):
            fail("findings.csv", f"{row['patient_pseudonym']!r} is not a pseudonym")
        if row["study_uid"] in folders and folders[row["study_uid"]] != row["patient_pseudonym"]:
            fail("findings.csv", "a finding's pseudonym differs from its images'")
    manifest = json.load(open(os.path.join(export, "manifest.json"), encoding="utf-8"))
    if manifest["files"]["dicom"]["instances"] != len(exported):
        fail("manifest.json", "the instance count differs from the files")

    if failures:
        print("\n".join(failures[:50]), file=sys.stderr)
        sys.exit(f"[deid] {len(failures)} problem(s)")
    print(f"[deid] {len(exported)} files of {len(shifts)} patients in {len(study_back)} studies checked; "
          f"{len(rows)} findings")


if __name__ == "__main__":
    main()
