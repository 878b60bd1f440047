//! Site rules: what a site code, a patient-ID assigning authority and a calling AE title may be.
//! Each function trims its input and returns the value as stored, or what is wrong with it.

/// DICOM AE titles are at most 16 characters (PS3.5 table 6.2-1).
pub const MAX_AE_TITLE_LEN: usize = 16;
/// The assigning authority is what an instance's IssuerOfPatientID (LO: 64 characters) holds.
pub const MAX_AUTHORITY_LEN: usize = 64;
pub const MAX_SITE_NAME_LEN: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteRuleError {
    #[error("a site code is 2 to 32 letters, digits and '-', starting with a letter or digit")]
    Code,
    #[error("a name of 1 to {MAX_SITE_NAME_LEN} characters")]
    Name,
    #[error("1 to {MAX_AUTHORITY_LEN} characters, without '\\' or control characters")]
    Authority,
    #[error(
        "`{0}` is not an AE title: 1 to {MAX_AE_TITLE_LEN} characters of the DICOM default repertoire (printable ASCII), without '\\'"
    )]
    AeTitle(String),
}

impl SiteRuleError {
    pub fn said(&self) -> crate::domain::said::Said {
        match self {
            SiteRuleError::Code => crate::said!(
                "a site code is 2 to 32 letters, digits and '-', starting with a letter or digit",
                "站点代码为 2 至 32 个字母、数字或“-”，以字母或数字开头"
            ),
            SiteRuleError::Name => {
                crate::said!("a name of 1 to {MAX_SITE_NAME_LEN} characters", "名称，1 至 {MAX_SITE_NAME_LEN} 个字符")
            }
            SiteRuleError::Authority => crate::said!(
                "1 to {MAX_AUTHORITY_LEN} characters, without '\\' or control characters",
                "1 至 {MAX_AUTHORITY_LEN} 个字符，不含“\\”或控制字符"
            ),
            SiteRuleError::AeTitle(title) => crate::said!(
                "`{title}` is not an AE title: 1 to {MAX_AE_TITLE_LEN} characters of the DICOM default repertoire (printable ASCII), without '\\'",
                "“{title}”不是有效的 AE 标题：应为 1 至 {MAX_AE_TITLE_LEN} 个 DICOM 默认字符集字符（可打印 ASCII），不含“\\”"
            ),
        }
    }
}

/// A site code: trimmed and upper-cased, 2 to 32 of `A-Z`, `0-9` and `-`, not starting with `-`.
pub fn normalize_site_code(input: &str) -> Result<String, SiteRuleError> {
    let code = input.trim().to_uppercase();
    let mut chars = code.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    let length_ok = (2..=32).contains(&code.len());
    if first_ok && rest_ok && length_ok { Ok(code) } else { Err(SiteRuleError::Code) }
}

pub fn normalize_site_name(input: &str) -> Result<String, SiteRuleError> {
    let name = input.trim();
    if name.is_empty() || name.chars().count() > MAX_SITE_NAME_LEN {
        return Err(SiteRuleError::Name);
    }
    Ok(name.to_owned())
}

/// The authority that assigns a site's patient IDs (the LO value representation: no backslash,
/// no control characters).
pub fn normalize_authority(input: &str) -> Result<String, SiteRuleError> {
    let authority = input.trim();
    let length = authority.chars().count();
    if length == 0 || length > MAX_AUTHORITY_LEN || authority.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(SiteRuleError::Authority);
    }
    Ok(authority.to_owned())
}

/// A calling AE title: leading and trailing spaces are not significant (PS3.5 6.2), so they are
/// trimmed; what is left is 1 to 16 printable ASCII characters other than the backslash. Case is
/// kept: the listener compares titles exactly, as the sender spells it.
pub fn normalize_ae_title(input: &str) -> Result<String, SiteRuleError> {
    let title = input.trim_matches(' ');
    let valid = !title.is_empty()
        && title.len() <= MAX_AE_TITLE_LEN
        && title.chars().all(|c| (' '..='~').contains(&c) && c != '\\');
    if valid { Ok(title.to_owned()) } else { Err(SiteRuleError::AeTitle(input.trim().escape_debug().to_string())) }
}

/// A list of AE titles as stored: each valid, repeats removed, in the order given.
pub fn normalize_ae_titles(inputs: &[String]) -> Result<Vec<String>, SiteRuleError> {
    let mut titles: Vec<String> = Vec::new();
    for input in inputs.iter().filter(|t| !t.trim().is_empty()) {
        let title = normalize_ae_title(input)?;
        if !titles.contains(&title) {
            titles.push(title);
        }
    }
    Ok(titles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ae_title_table() {
        let cases = [
            ("RC-PACS", Ok("RC-PACS")),
            ("  MY PACS  ", Ok("MY PACS")),
            ("a", Ok("a")),
            ("ABCDEFGHIJKLMNOP", Ok("ABCDEFGHIJKLMNOP")),
            ("~!@#$%^&*()[]{}", Ok("~!@#$%^&*()[]{}")),
            ("ABCDEFGHIJKLMNOPQ", Err(())),
            ("", Err(())),
            ("   ", Err(())),
            ("PACS\\2", Err(())),
            ("PACS\t2", Err(())),
            ("PACSé", Err(())),
            ("影像", Err(())),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_ae_title(input).map_err(|_| ()), expected.map(str::to_owned), "{input:?}");
        }
    }

    #[test]
    fn ae_title_lists_drop_blanks_and_repeats() {
        let inputs: Vec<String> = ["CT1", " ", "CT2", "CT1 "].map(str::to_owned).to_vec();
        assert_eq!(normalize_ae_titles(&inputs), Ok(vec!["CT1".to_owned(), "CT2".to_owned()]));
        let bad: Vec<String> = ["CT1", "C\\T"].map(str::to_owned).to_vec();
        assert_eq!(normalize_ae_titles(&bad), Err(SiteRuleError::AeTitle("C\\\\T".into())));
    }

    #[test]
    fn site_codes_authorities_and_names() {
        assert_eq!(normalize_site_code(" demo-ec "), Ok("DEMO-EC".into()));
        for bad in ["", "A", "-AB", "AB_C", "ÄB", &"A".repeat(33)] {
            assert_eq!(normalize_site_code(bad), Err(SiteRuleError::Code), "{bad:?}");
        }
        assert_eq!(normalize_authority(" 2.16.840.1.113883.3.1 "), Ok("2.16.840.1.113883.3.1".into()));
        assert_eq!(normalize_authority("东区医院"), Ok("东区医院".into()));
        for bad in ["", "A\\B", "A\nB", &"x".repeat(65)] {
            assert_eq!(normalize_authority(bad), Err(SiteRuleError::Authority), "{bad:?}");
        }
        assert_eq!(normalize_site_name("  East Campus "), Ok("East Campus".into()));
        assert_eq!(normalize_site_name(" "), Err(SiteRuleError::Name));
    }
}
