//! Agreement between the AI's proposal and the board's signed decision for one category (T, N,
//! M or the stage group): percent agreement, Cohen's kappa with its 95 % confidence interval,
//! and the confusion matrix.
//!
//! Kappa: Cohen J, "A coefficient of agreement for nominal scales", *Educ Psychol Meas*
//! 1960;20:37-46: κ = (pₒ − pₑ) / (1 − pₑ), where pₒ is the observed agreement and pₑ the
//! agreement expected by chance from the marginals. Its standard error is the large-sample
//! approximation of the same paper, SE = √(pₒ(1 − pₒ) / (n(1 − pₑ)²)), and the interval
//! κ ± 1.96 SE, clipped to [−1, 1].

use serde::{Deserialize, Serialize};

/// The z value of a two-sided 95 % interval.
const Z_95: f64 = 1.959_963_984_540_054;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Cases compared.
    pub n: usize,
    /// Cases where proposal and decision are the same category.
    pub agreed: usize,
    /// `agreed / n` as a percentage; `None` without cases.
    pub percent: Option<f64>,
    /// `None` without cases, or where chance agreement is certain (one category only on both
    /// sides), where kappa is undefined.
    pub kappa: Option<f64>,
    pub kappa_ci95: Option<(f64, f64)>,
    /// The categories, in the order given: rows are the proposal, columns the decision.
    pub labels: Vec<String>,
    pub matrix: Vec<Vec<usize>>,
}

/// Agreement over `(proposed, decided)` pairs. `order` ranks categories for the matrix (for
/// example the manual's order of stage groups); ties and unknowns sort by name.
pub fn agreement(pairs: &[(String, String)], order: impl Fn(&str) -> usize) -> Agreement {
    let mut labels: Vec<String> = pairs.iter().flat_map(|(p, d)| [p.clone(), d.clone()]).collect();
    labels.sort_by(|a, b| order(a).cmp(&order(b)).then_with(|| a.cmp(b)));
    labels.dedup();
    let index = |label: &str| labels.iter().position(|l| l == label).unwrap_or(0);
    let mut matrix = vec![vec![0usize; labels.len()]; labels.len()];
    for (proposed, decided) in pairs {
        matrix[index(proposed)][index(decided)] += 1;
    }
    let n = pairs.len();
    let agreed = (0..labels.len()).map(|i| matrix[i][i]).sum();
    let (percent, kappa, kappa_ci95) = if n == 0 {
        (None, None, None)
    } else {
        let total = n as f64;
        let po = agreed as f64 / total;
        let pe: f64 = (0..labels.len())
            .map(|i| {
                let row: usize = matrix[i].iter().sum();
                let column: usize = matrix.iter().map(|r| r[i]).sum();
                (row as f64 / total) * (column as f64 / total)
            })
            .sum();
        if (1.0 - pe).abs() < f64::EPSILON {
            (Some(100.0 * po), None, None)
        } else {
            let kappa = (po - pe) / (1.0 - pe);
            let se = (po * (1.0 - po) / (total * (1.0 - pe).powi(2))).sqrt();
            let ci = ((kappa - Z_95 * se).max(-1.0), (kappa + Z_95 * se).min(1.0));
            (Some(100.0 * po), Some(kappa), Some(ci))
        }
    };
    Agreement { n, agreed, percent, kappa, kappa_ci95, labels, matrix }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(spec: &[(&str, &str, usize)]) -> Vec<(String, String)> {
        spec.iter().flat_map(|(p, d, k)| std::iter::repeat_n((p.to_string(), d.to_string()), *k)).collect()
    }

    #[test]
    fn kappa_matches_a_hand_computed_two_by_two() {
        // 50 cases: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no. By hand: pₒ = 35/50 = 0.7;
        // marginals yes 25/50 (rows) and 30/50 (columns), no 25/50 and 20/50, so
        // pₑ = 0.5·0.6 + 0.5·0.4 = 0.5; κ = 0.2 / 0.5 = 0.4;
        // SE = √(0.7·0.3 / (50·0.25)) = √0.0168 = 0.129615; CI = 0.4 ± 1.96·0.129615.
        let a = agreement(&pairs(&[("yes", "yes", 20), ("yes", "no", 5), ("no", "yes", 10), ("no", "no", 15)]), |_| 0);
        assert_eq!(a.n, 50);
        assert_eq!(a.agreed, 35);
        assert!((a.percent.expect("present") - 70.0).abs() < 1e-12);
        assert!((a.kappa.expect("present") - 0.4).abs() < 1e-12);
        let (low, high) = a.kappa_ci95.expect("present");
        assert!((low - 0.145_954).abs() < 1e-5, "{low}");
        assert!((high - 0.654_046).abs() < 1e-5, "{high}");
        assert_eq!(a.labels, ["no", "yes"]);
        assert_eq!(a.matrix, vec![vec![15, 10], vec![5, 20]]);
    }

    #[test]
    fn kappa_of_a_three_category_table() {
        // Rows (proposal) T1, T2, T3; columns (decision). Diagonal 10 + 8 + 7 = 25 of 30.
        // Row totals 12, 10, 8; column totals 11, 11, 8. By hand: pₒ = 25/30 = 0.833333;
        // pₑ = (12·11 + 10·11 + 8·8) / 900 = 306/900 = 0.34; κ = 0.493333 / 0.66 = 0.747475.
        let a = agreement(
            &pairs(&[
                ("T1", "T1", 10),
                ("T1", "T2", 2),
                ("T2", "T1", 1),
                ("T2", "T2", 8),
                ("T2", "T3", 1),
                ("T3", "T2", 1),
                ("T3", "T3", 7),
            ]),
            |_| 0,
        );
        assert_eq!((a.n, a.agreed), (30, 25));
        assert!((a.kappa.expect("present") - 0.747_475).abs() < 1e-6, "{:?}", a.kappa);
        assert_eq!(a.matrix, vec![vec![10, 2, 0], vec![1, 8, 1], vec![0, 1, 7]]);
    }

    #[test]
    fn perfect_agreement_and_the_degenerate_cases() {
        let a = agreement(&pairs(&[("IA1", "IA1", 3), ("IIB", "IIB", 2)]), |_| 0);
        assert_eq!(a.kappa, Some(1.0));
        let one = agreement(&pairs(&[("M0", "M0", 4)]), |_| 0);
        assert_eq!(one.percent, Some(100.0));
        assert_eq!(one.kappa, None, "one category on both sides: kappa undefined");
        let none = agreement(&[], |_| 0);
        assert_eq!((none.n, none.percent, none.kappa), (0, None, None));
    }

    #[test]
    fn labels_follow_the_given_order() {
        let rank = |g: &str| crate::domain::staging::GROUP_ORDER.iter().position(|x| *x == g).unwrap_or(usize::MAX);
        let a = agreement(&pairs(&[("IIIA", "IIB", 1), ("IA1", "IA1", 1)]), rank);
        assert_eq!(a.labels, ["IA1", "IIB", "IIIA"]);
    }
}
