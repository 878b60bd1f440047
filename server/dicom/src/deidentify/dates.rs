//! Shifting DICOM dates by a whole number of days (the Retain Longitudinal Temporal Information
//! with Modified Dates Option): a DA value (`YYYYMMDD`) moves by the days; a DT value
//! (`YYYYMMDD[HH[MM[SS[.F]]]][&ZZXX]`) moves its date and keeps its time and offset, so the time
//! between any two of a patient's dates is kept. Times of day (TM) are not changed by a shift of
//! whole days. A value that is not a full date (empty, `YYYY`, `YYYYMM`, malformed) cannot be
//! shifted: the caller falls back to the profile's own action for it.

use dicom_core::chrono::{NaiveDate, TimeDelta};

/// `value` (a DA) moved by `days`; `None` when it is not a full, valid date.
pub fn shift_date(value: &str, days: i64) -> Option<String> {
    let value = value.trim();
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::parse_from_str(value, "%Y%m%d").ok()?;
    let shifted = date.checked_add_signed(TimeDelta::try_days(days)?)?;
    let year = shifted.format("%Y").to_string();
    // DA has four-digit years; a shift that leaves them has nothing to write.
    (year.len() == 4).then(|| shifted.format("%Y%m%d").to_string())
}

/// `value` (a DT) with its date moved by `days`, its time and UTC offset as they were; `None`
/// when it does not start with a full date.
pub fn shift_datetime(value: &str, days: i64) -> Option<String> {
    let value = value.trim();
    let date = value.get(..8)?;
    let rest = value.get(8..)?;
    Some(format!("{}{rest}", shift_date(date, days)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_move_by_whole_days_across_months_and_leap_years() {
        assert_eq!(shift_date("20040119", -30).as_deref(), Some("20031220"));
        assert_eq!(shift_date("20240301", -1).as_deref(), Some("20240229"));
        assert_eq!(shift_date("20250101", -365).as_deref(), Some("20240102"));
        assert_eq!(shift_date(" 19970430 ", 0).as_deref(), Some("19970430"));
    }

    #[test]
    fn intervals_between_dates_are_kept() {
        let parse = |d: &str| NaiveDate::parse_from_str(d, "%Y%m%d").expect("date");
        let (a, b) = ("19970430", "20040119");
        let (sa, sb) = (shift_date(a, -200).expect("a"), shift_date(b, -200).expect("b"));
        assert_eq!(parse(b) - parse(a), parse(&sb) - parse(&sa));
    }

    #[test]
    fn datetimes_keep_their_time_and_offset() {
        assert_eq!(shift_datetime("20040119072730.123456-0500", -19).as_deref(), Some("20031231072730.123456-0500"));
        assert_eq!(shift_datetime("20040119", -1).as_deref(), Some("20040118"));
    }

    #[test]
    fn what_is_not_a_full_date_is_not_shifted() {
        for bad in ["", "2004", "200401", "2004011", "20041301", "20040230", "2004O119", "200401191"] {
            assert_eq!(shift_date(bad, -1), None, "{bad:?}");
        }
        assert_eq!(shift_datetime("2004", -1), None);
        assert_eq!(shift_date("00000101", -1), None, "no year before 0000");
    }
}
