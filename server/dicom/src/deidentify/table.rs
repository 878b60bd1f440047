//! The profile's attribute table, kept as data (`ps3.15-table-e1-1.tsv`, a transcription of
//! PS3.15 Table E.1-1) and parsed here: which action the Basic Application Level
//! Confidentiality Profile, and the Retain Longitudinal Temporal Information with Modified Dates
//! Option, take on each attribute.

use std::collections::HashMap;
use std::sync::LazyLock;

use dicom_core::Tag;

/// The committed transcription of Table E.1-1.
pub const STANDARD_TABLE: &str = include_str!("ps3.15-table-e1-1.tsv");

/// An action code of Table E.1-1 (PS3.15 E.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Replace with a non-zero length dummy value consistent with the VR.
    D,
    /// Replace with a zero length value, or a dummy value consistent with the VR.
    Z,
    /// Remove.
    X,
    /// Keep (unchanged for non-sequence attributes; sequences are cleaned recursively).
    K,
    /// Clean: replace with values of similar meaning known not to identify.
    C,
    /// Replace with a non-zero length UID, internally consistent within the set of instances.
    U,
    /// Z unless D is required to keep the IOD conformant (Type 2 vs Type 1).
    ZD,
    /// X unless Z is required (Type 3 vs Type 2).
    XZ,
    /// X unless D is required (Type 3 vs Type 1).
    XD,
    /// X unless Z or D is required (Type 3 vs Type 2 vs Type 1).
    XZD,
    /// X unless Z, or replacing the UIDs the sequence holds, is required (Type 3 vs Type 2 vs
    /// Type 1 sequences of UID references).
    XZUStar,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Action::D,
        Action::Z,
        Action::X,
        Action::K,
        Action::C,
        Action::U,
        Action::ZD,
        Action::XZ,
        Action::XD,
        Action::XZD,
        Action::XZUStar,
    ];

    /// The code as the standard writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::D => "D",
            Action::Z => "Z",
            Action::X => "X",
            Action::K => "K",
            Action::C => "C",
            Action::U => "U",
            Action::ZD => "Z/D",
            Action::XZ => "X/Z",
            Action::XD => "X/D",
            Action::XZD => "X/Z/D",
            Action::XZUStar => "X/Z/U*",
        }
    }

    pub fn parse(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == code)
    }

    /// The action taken: a compound action's first alternative, the one that keeps the least.
    /// The compound actions leave the choice to the attribute's Type in the IOD; every attribute
    /// with a compound action that the CT image IODs hold (dates and times aside, which the
    /// Modified Dates Option shifts instead) is Type 3 there, or Type 2 under Z/D, so the first
    /// alternative keeps them conformant.
    pub fn taken(self) -> Action {
        match self {
            Action::ZD => Action::Z,
            Action::XZ | Action::XD | Action::XZD | Action::XZUStar => Action::X,
            simple => simple,
        }
    }
}

/// Which attributes a row covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagPattern {
    /// One attribute.
    Exact(Tag),
    /// A repeating group (`(60xx,3000)`): a tag matches when its bits under the masks are equal.
    Masked { group: u16, group_mask: u16, element: u16, element_mask: u16 },
    /// Every attribute of an odd (private) group: `(gggg,eeee)`.
    Private,
}

impl TagPattern {
    pub fn matches(self, tag: Tag) -> bool {
        match self {
            TagPattern::Exact(t) => t == tag,
            TagPattern::Masked { group, group_mask, element, element_mask } => {
                tag.group() & group_mask == group && tag.element() & element_mask == element
            }
            TagPattern::Private => tag.group() % 2 == 1,
        }
    }

    /// `(0010,0020)`, `(60xx,3000)` or `(gggg,eeee)`.
    pub fn parse(text: &str) -> Option<TagPattern> {
        let inner = text.strip_prefix('(')?.strip_suffix(')')?;
        if inner == "gggg,eeee" {
            return Some(TagPattern::Private);
        }
        let (group, element) = inner.split_once(',')?;
        let (group, group_mask) = masked_hex(group)?;
        let (element, element_mask) = masked_hex(element)?;
        if group_mask == 0xFFFF && element_mask == 0xFFFF {
            Some(TagPattern::Exact(Tag(group, element)))
        } else {
            Some(TagPattern::Masked { group, group_mask, element, element_mask })
        }
    }
}

/// Four hexadecimal digits, each possibly `x` (any): the value and the mask of the fixed bits.
fn masked_hex(text: &str) -> Option<(u16, u16)> {
    if text.len() != 4 {
        return None;
    }
    let (mut value, mut mask) = (0u16, 0u16);
    for c in text.chars() {
        value <<= 4;
        mask <<= 4;
        if c == 'x' || c == 'X' {
            continue;
        }
        value |= u16::try_from(c.to_digit(16)?).ok()?;
        mask |= 0xF;
    }
    Some((value, mask))
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub pattern: TagPattern,
    pub name: String,
    /// The Basic Profile's action.
    pub basic: Action,
    /// The Retain Longitudinal Temporal Information with Modified Dates Option's action (`C`,
    /// the dates and times the option modifies), if any.
    pub modified_dates: Option<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("line {line}: expected 4 tab-separated columns (tag, name, basic, modified_dates), found {found}")]
    Columns { line: usize, found: usize },
    #[error("line {line}: `{tag}` is not a tag such as (0010,0020), (60xx,3000) or (gggg,eeee)")]
    Tag { line: usize, tag: String },
    #[error("line {line}: `{code}` is not an action code of Table E.1-1")]
    Action { line: usize, code: String },
    #[error("line {line}: {tag} is listed twice")]
    Duplicate { line: usize, tag: String },
    #[error("the table has no rows")]
    Empty,
}

/// The parsed table: exact tags by hash, patterns in the order they were listed.
#[derive(Debug, Clone)]
pub struct Table {
    rows: Vec<Row>,
    exact: HashMap<Tag, usize>,
    patterns: Vec<usize>,
}

static STANDARD: LazyLock<Result<Table, TableError>> = LazyLock::new(|| Table::parse(STANDARD_TABLE));

impl Table {
    /// The committed Table E.1-1 (parsed once).
    pub fn standard() -> Result<&'static Table, TableError> {
        STANDARD.as_ref().map_err(Clone::clone)
    }

    /// Parses the TSV: `#` lines are comments, the first other line is the header.
    pub fn parse(text: &str) -> Result<Table, TableError> {
        let mut table = Table { rows: Vec::new(), exact: HashMap::new(), patterns: Vec::new() };
        let mut header_seen = false;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            if raw.starts_with('#') || raw.trim().is_empty() {
                continue;
            }
            if !header_seen {
                header_seen = true;
                continue;
            }
            let columns: Vec<&str> = raw.split('\t').collect();
            if columns.len() != 4 {
                return Err(TableError::Columns { line, found: columns.len() });
            }
            let tag = columns[0].trim();
            let pattern = TagPattern::parse(tag).ok_or_else(|| TableError::Tag { line, tag: tag.to_owned() })?;
            let action = |code: &str| {
                Action::parse(code.trim()).ok_or_else(|| TableError::Action { line, code: code.to_owned() })
            };
            let basic = action(columns[2])?;
            let modified_dates = match columns[3].trim() {
                "" => None,
                code => Some(action(code)?),
            };
            let row = table.rows.len();
            match pattern {
                TagPattern::Exact(t) => {
                    if table.exact.insert(t, row).is_some() {
                        return Err(TableError::Duplicate { line, tag: tag.to_owned() });
                    }
                }
                _ => table.patterns.push(row),
            }
            table.rows.push(Row { pattern, name: columns[1].trim().to_owned(), basic, modified_dates });
        }
        if table.rows.is_empty() {
            return Err(TableError::Empty);
        }
        Ok(table)
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The row covering `tag`: its own row first, else the first pattern matching it.
    pub fn get(&self, tag: Tag) -> Option<&Row> {
        if let Some(&row) = self.exact.get(&tag) {
            return self.rows.get(row);
        }
        self.patterns.iter().filter_map(|&row| self.rows.get(row)).find(|row| row.pattern.matches(tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard() -> &'static Table {
        Table::standard().expect("the committed table parses")
    }

    fn action(group: u16, element: u16) -> Action {
        standard().get(Tag(group, element)).map(|r| r.basic).expect("listed")
    }

    #[test]
    fn every_row_of_the_2024b_table_is_there() {
        // PS3.15 2024b's Table E.1-1 has 621 rows.
        assert_eq!(standard().rows().len(), 621);
        let by_action = |a: Action| standard().rows().iter().filter(|r| r.basic == a).count();
        assert_eq!(by_action(Action::U), 54);
        assert_eq!(by_action(Action::XZUStar), 2);
        assert_eq!(standard().rows().iter().filter(|r| r.modified_dates == Some(Action::C)).count(), 165);
    }

    #[test]
    fn known_rows_read_as_the_standard_has_them() {
        let expected = [
            ((0x0010, 0x0010), "Patient's Name", Action::Z),
            // Z until 2024a; Z/D from 2024b (Patient ID is Type 1 in some IODs).
            ((0x0010, 0x0020), "Patient ID", Action::ZD),
            ((0x0008, 0x0050), "Accession Number", Action::Z),
            ((0x0020, 0x000D), "Study Instance UID", Action::U),
            ((0x0020, 0x000E), "Series Instance UID", Action::U),
            ((0x0008, 0x0018), "SOP Instance UID", Action::U),
            ((0x0008, 0x0080), "Institution Name", Action::XZD),
            ((0x0010, 0x0030), "Patient's Birth Date", Action::Z),
            ((0x0008, 0x0090), "Referring Physician's Name", Action::Z),
            ((0x0010, 0x1000), "Other Patient IDs", Action::X),
            ((0x0010, 0x1002), "Other Patient IDs Sequence", Action::X),
            ((0x0008, 0x0081), "Institution Address", Action::X),
            ((0x0008, 0x1010), "Station Name", Action::XZD),
            ((0x0008, 0x1140), "Referenced Image Sequence", Action::XZUStar),
            ((0x0008, 0x0020), "Study Date", Action::Z),
            ((0x0008, 0x0021), "Series Date", Action::XD),
            ((0x0008, 0x0023), "Content Date", Action::ZD),
            ((0x0040, 0xA730), "Content Sequence", Action::D),
            ((0x0020, 0x0052), "Frame of Reference UID", Action::U),
        ];
        for ((group, element), name, basic) in expected {
            let row = standard().get(Tag(group, element)).unwrap_or_else(|| panic!("{name} is listed"));
            assert_eq!(row.name, name);
            assert_eq!(row.basic, basic, "{name}");
        }
        // The dates the Modified Dates Option shifts; the birth date is not among them.
        assert_eq!(standard().get(Tag(0x0008, 0x0020)).and_then(|r| r.modified_dates), Some(Action::C));
        assert_eq!(standard().get(Tag(0x0010, 0x0030)).and_then(|r| r.modified_dates), None);
    }

    #[test]
    fn patterns_cover_repeating_and_private_groups() {
        assert_eq!(action(0x6002, 0x3000), Action::X, "Overlay Data of the second overlay");
        assert_eq!(action(0x5010, 0x0005), Action::X, "Curve Data");
        assert_eq!(action(0x0009, 0x1001), Action::X, "a private attribute");
        assert_eq!(action(0x0029, 0x0010), Action::X, "a private creator");
        assert!(standard().get(Tag(0x0028, 0x0010)).is_none(), "Rows is not listed (kept)");
        assert!(standard().get(Tag(0x7FE0, 0x0010)).is_none(), "Pixel Data is not listed (kept)");
    }

    #[test]
    fn compound_actions_take_their_first_alternative() {
        assert_eq!(Action::ZD.taken(), Action::Z);
        assert_eq!(Action::XZD.taken(), Action::X);
        assert_eq!(Action::XZUStar.taken(), Action::X);
        assert_eq!(Action::U.taken(), Action::U);
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
    }

    #[test]
    fn bad_tables_are_refused_with_their_line() {
        let header = "tag\tname\tbasic\tmodified_dates\n";
        let bad = |body: &str| Table::parse(&format!("# comment\n{header}{body}")).expect_err("refused");
        assert_eq!(bad("(0010,0010)\tPatient's Name\tZ\n"), TableError::Columns { line: 3, found: 3 });
        assert_eq!(bad("(0010,001G)\tX\tZ\t\n"), TableError::Tag { line: 3, tag: "(0010,001G)".into() });
        assert_eq!(bad("(0010,0010)\tPatient's Name\tQ\t\n"), TableError::Action { line: 3, code: "Q".into() });
        assert!(matches!(bad("(0010,0010)\ta\tZ\t\n(0010,0010)\tb\tX\t\n"), TableError::Duplicate { line: 4, .. }));
        assert_eq!(Table::parse(header).expect_err("empty"), TableError::Empty);
    }
}
