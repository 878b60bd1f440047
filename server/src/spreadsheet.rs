//! CSV cells made safe to open in a spreadsheet. A cell that starts with `=`, `+`, `-` or `@`
//! (or a tab or carriage return, which some spreadsheets skip before reading one of those) is
//! run as a formula by Excel, LibreOffice and Sheets: `=HYPERLINK(...)` in a free-text field
//! would send a click, with the cells around it, to a stranger's site. Such a text cell gets a
//! leading `'`, which spreadsheets show as text and do not keep in the value (OWASP, "CSV
//! Injection"). Every CSV this server writes passes its text cells through here; numbers are
//! written as they are (`-3` is a number, not a formula).

/// `cell`, with a leading `'` when a spreadsheet would run it as a formula.
pub fn defused(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell }
}

#[cfg(test)]
mod tests {
    use super::defused;

    #[test]
    fn each_formula_start_is_defused_and_nothing_else_changes() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")"] {
            assert_eq!(defused(cell.to_owned()), format!("'{cell}"), "{cell:?}");
        }
        for cell in ["", "ada", "1.5", "王^小明", "a=b", " =1", "{\"n\":1}", "'quoted"] {
            assert_eq!(defused(cell.to_owned()), cell, "{cell:?}");
        }
    }
}
