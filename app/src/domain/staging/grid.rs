//! Test support: a stage table as the manual prints it, checked cell by cell against a
//! [`Table`]'s rule. The printed form is transcribed by hand from the cited source, row by row,
//! so it is an oracle the rule did not produce.

use super::Table;

/// The M0 table (one row per T, one column per N; `""` where the manual assigns no group) and
/// the group of each metastatic M category, which holds for any T and any N.
pub struct Printed<'a> {
    pub n: &'a [&'a str],
    pub rows: &'a [(&'a str, &'a [&'a str])],
    pub m0: &'a str,
    pub metastatic: &'a [(&'a str, &'a str)],
}

/// Checks every cell of `table` against `printed` and that both list the same categories in the
/// same order. Returns how many cells were checked.
pub fn check(table: &Table, printed: &Printed<'_>) -> usize {
    let printed_t: Vec<&str> = printed.rows.iter().map(|(t, _)| *t).collect();
    assert_eq!(table.t, printed_t.as_slice(), "T categories of {}", table.source);
    assert_eq!(table.n, printed.n, "N categories of {}", table.source);
    let mut printed_m = vec![printed.m0];
    printed_m.extend(printed.metastatic.iter().map(|(m, _)| *m));
    assert_eq!(table.m, printed_m.as_slice(), "M categories of {}", table.source);

    let mut cells = 0;
    for (t, groups) in printed.rows {
        assert_eq!(groups.len(), printed.n.len(), "row {t} of {}", table.source);
        for (n, expected) in printed.n.iter().zip(groups.iter()) {
            let expected = (!expected.is_empty()).then_some(*expected);
            assert_eq!((table.group)(t, n, printed.m0), expected, "{t} {n} {} in {}", printed.m0, table.source);
            cells += 1;
            for (m, metastatic) in printed.metastatic {
                assert_eq!((table.group)(t, n, m), Some(*metastatic), "{t} {n} {m} in {}", table.source);
                cells += 1;
            }
        }
    }
    cells
}
