//! Operating thresholds: a class is positive when its probability is at or above the threshold
//! (the rule `elysium_inference::postprocess::interpret` applies). Changing one changes which
//! series raise findings from then on, so a change is checked here and previewed on the series
//! already screened before it is made.

use serde::{Deserialize, Serialize};

use crate::domain::said::Said;
use crate::said;

/// The longest reason kept for a threshold change.
pub const MAX_REASON_CHARS: usize = 2000;

/// Why a threshold change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdRefusal {
    #[error("threshold: a probability strictly between 0 and 1")]
    OutOfRange,
    #[error("output: the model has no {output} output; valid: {}", valid.join(", "))]
    UnknownOutput { output: String, valid: Vec<String> },
    #[error("threshold: it is already the operating threshold")]
    Unchanged,
    #[error("reason: say why the threshold changes (1 to {MAX_REASON_CHARS} characters)")]
    Reason,
}

impl ThresholdRefusal {
    /// The field the refusal is about (for forms and `validation_failed` errors).
    pub fn field(&self) -> &'static str {
        match self {
            ThresholdRefusal::OutOfRange | ThresholdRefusal::Unchanged => "threshold",
            ThresholdRefusal::UnknownOutput { .. } => "output",
            ThresholdRefusal::Reason => "reason",
        }
    }

    /// The message without its leading `field: ` (callers carry [`Self::field`] apart), in both
    /// languages.
    pub fn said(&self) -> Said {
        match self {
            ThresholdRefusal::OutOfRange => {
                said!("a probability strictly between 0 and 1", "须为大于 0 且小于 1 的概率")
            }
            ThresholdRefusal::UnknownOutput { output, valid } => {
                Said::not_one_of(said!("the model has no {output} output", "该模型没有“{output}”输出"), valid)
            }
            ThresholdRefusal::Unchanged => said!("it is already the operating threshold", "已是当前的工作阈值"),
            ThresholdRefusal::Reason => said!(
                "say why the threshold changes (1 to {MAX_REASON_CHARS} characters)",
                "请说明修改阈值的原因（1 至 {MAX_REASON_CHARS} 个字符）"
            ),
        }
    }
}

/// Whether a class with this probability is positive at this threshold.
pub fn positive(probability: f64, threshold: f64) -> bool {
    probability >= threshold
}

/// Checks a change of `output` (`organ/class`) from `current` to `proposed`. `outputs` are the
/// model's thresholded outputs; `reason` is `None` for a preview (which needs none).
pub fn check_change(
    output: &str,
    outputs: &[String],
    current: f64,
    proposed: f64,
    reason: Option<&str>,
) -> Result<(), ThresholdRefusal> {
    if !outputs.iter().any(|o| o == output) {
        return Err(ThresholdRefusal::UnknownOutput { output: output.to_owned(), valid: outputs.to_vec() });
    }
    // 0 would flag every series and 1 none that is not certain: neither is an operating point.
    if !(proposed.is_finite() && proposed > 0.0 && proposed < 1.0) {
        return Err(ThresholdRefusal::OutOfRange);
    }
    if proposed == current {
        return Err(ThresholdRefusal::Unchanged);
    }
    if let Some(reason) = reason {
        let length = reason.trim().chars().count();
        if length == 0 || length > MAX_REASON_CHARS {
            return Err(ThresholdRefusal::Reason);
        }
    }
    Ok(())
}

/// What a threshold change would have done to a set of screened series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Preview {
    /// Series looked at (those whose result has a probability for the output).
    pub series: u64,
    /// Positive at the current threshold.
    pub positive_now: u64,
    /// Positive at the proposed threshold.
    pub positive_then: u64,
    /// Negative now, positive at the proposed threshold (findings that would have been raised).
    pub gained: u64,
    /// Positive now, negative at the proposed threshold (findings that would not have been).
    pub lost: u64,
}

impl Preview {
    /// Series whose verdict changes.
    pub fn changed(&self) -> u64 {
        self.gained + self.lost
    }
}

/// Each series' verdict at `current` and at `proposed`, counted.
pub fn preview(probabilities: &[f64], current: f64, proposed: f64) -> Preview {
    let mut out = Preview { series: probabilities.len() as u64, ..Preview::default() };
    for &p in probabilities {
        let (now, then) = (positive(p, current), positive(p, proposed));
        out.positive_now += u64::from(now);
        out.positive_then += u64::from(then);
        out.gained += u64::from(!now && then);
        out.lost += u64::from(now && !then);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn outputs() -> Vec<String> {
        vec!["lung/Cancer".into(), "liver/HCC".into()]
    }

    #[test]
    fn a_hand_counted_preview() {
        // Ten series; current 0.5, proposed 0.3. Positive now: 0.5, 0.7, 0.95 (0.5 is at the
        // threshold: positive). Positive then: also 0.3, 0.31, 0.45. Gained 3, lost 0.
        let p = [0.1, 0.29, 0.3, 0.31, 0.45, 0.5, 0.7, 0.95, 0.0, 0.2];
        let lower = preview(&p, 0.5, 0.3);
        assert_eq!(lower, Preview { series: 10, positive_now: 3, positive_then: 6, gained: 3, lost: 0 });
        assert_eq!(lower.changed(), 3);
        // And back up from 0.3 to 0.8: positive then only 0.95; lost 0.3, 0.31, 0.45, 0.5, 0.7.
        let higher = preview(&p, 0.3, 0.8);
        assert_eq!(higher, Preview { series: 10, positive_now: 6, positive_then: 1, gained: 0, lost: 5 });
        assert_eq!(preview(&[], 0.5, 0.3), Preview::default());
    }

    #[test]
    fn changes_are_checked() {
        let ok = check_change("lung/Cancer", &outputs(), 0.5, 0.4, Some("Too many false positives at site RC"));
        assert_eq!(ok, Ok(()));
        assert_eq!(check_change("lung/Cancer", &outputs(), 0.5, 0.4, None), Ok(()), "a preview needs no reason");
        for bad in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert_eq!(check_change("lung/Cancer", &outputs(), 0.5, bad, None), Err(ThresholdRefusal::OutOfRange));
        }
        assert_eq!(check_change("lung/Cancer", &outputs(), 0.5, 0.5, None), Err(ThresholdRefusal::Unchanged));
        assert_eq!(check_change("lung/Cancer", &outputs(), 0.5, 0.4, Some("  ")), Err(ThresholdRefusal::Reason));
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(check_change("lung/Cancer", &outputs(), 0.5, 0.4, Some(&long)), Err(ThresholdRefusal::Reason));
        let unknown = check_change("kidney/RCC", &outputs(), 0.5, 0.4, None).expect_err("unknown");
        assert_eq!(unknown.field(), "output");
        assert_eq!(unknown.to_string(), "output: the model has no kidney/RCC output; valid: lung/Cancer, liver/HCC");
        assert_eq!(unknown.said().with_field(unknown.field()).en, unknown.to_string());
        assert_eq!(unknown.said().zh, "该模型没有“kidney/RCC”输出；可选值：lung/Cancer, liver/HCC");
        for refusal in [ThresholdRefusal::OutOfRange, ThresholdRefusal::Unchanged, ThresholdRefusal::Reason] {
            assert_eq!(refusal.said().with_field(refusal.field()).en, refusal.to_string());
        }
    }

    proptest! {
        #[test]
        fn the_preview_balances(p in prop::collection::vec(0.0f64..=1.0, 0..200), a in 0.01f64..0.99, b in 0.01f64..0.99) {
            let out = preview(&p, a, b);
            prop_assert_eq!(out.positive_then + out.lost, out.positive_now + out.gained);
            prop_assert!(out.positive_now <= out.series && out.positive_then <= out.series);
            // Lowering a threshold never loses a positive; raising one never gains one.
            if b <= a { prop_assert_eq!(out.lost, 0); } else { prop_assert_eq!(out.gained, 0); }
            prop_assert_eq!(preview(&p, a, a).changed(), 0);
        }
    }
}
