//! Model governance: the rules an administrator applies to the screening models in use. When a
//! model version's positive rate has drifted from the rate it showed in its calibration period,
//! and what a change of an operating threshold would do to the series already screened, before
//! it is made, and how a new version screening in shadow compares with the live one.

pub mod drift;
pub mod shadow;
pub mod threshold;

pub use drift::{Drift, DriftCheck, MIN_SERIES, WINDOW_DAYS, assess};
pub use threshold::{Preview, ThresholdRefusal, check_change, preview};
