//! The step rule of DESIGN.md §1: relative steps `h_c = h0 · max(1, |x0_c|)`, with
//! `h0 = √ε` for forward and `∛ε` for central differences, balancing truncation
//! (`O(h)` or `O(h²)`) against rounding (`ε/h`).

use super::{Difference, Step};
use crate::error::{Error, Result};

/// The per-coordinate steps for `x0`.
///
/// `redundancy` is the number of measurements per unknown of the fullest row
/// (`k / ρ_max`, at least 1) where the truncation error is a bias that averaging keeps:
/// central differences along random directions, whose cubic term is odd in `d`. There,
/// least squares over `r`-fold redundant measurements with noise of level `σ` has mean
/// squared error about `(c h²)² + σ² / (r h²)`, minimised at `h ∝ (σ / √r)^(1/3)`: a
/// [`Step::Noise`] step shrinks as redundancy averages the noise down. Forward
/// differences along random directions pass 1: their curvature term is even in `d` and
/// averages down with the noise (`((c h)² + σ²/h²) / r`, minimised at `h ∝ √σ` for any
/// `r`); so do grouped (colored) designs, each direction measured once.
pub(crate) fn steps(step: &Step, difference: Difference, x0: &[f64], redundancy: f64) -> Result<Vec<f64>> {
    let root = |v: f64| match difference {
        Difference::Forward => v.sqrt(),
        Difference::Central => v.cbrt(),
    };
    let default_h0 = root(f64::EPSILON);
    let relative = |h0: f64| x0.iter().map(|x| h0 * x.abs().max(1.0)).collect();
    let positive = |name: &'static str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(Error::InvalidSetting { name, value: format!("{v}"), reason: "a step must be finite and positive" })
        }
    };
    let h: Vec<f64> = match step {
        Step::Default => relative(default_h0),
        Step::Relative(h0) => relative(positive("relative step", *h0)?),
        Step::Absolute(h) => vec![positive("absolute step", *h)?; x0.len()],
        Step::Noise(noise) => {
            if !(noise.is_finite() && *noise >= 0.0) {
                return Err(Error::InvalidSetting {
                    name: "noise level",
                    value: format!("{noise}"),
                    reason: "must be finite and non-negative",
                });
            }
            relative(root(*noise / redundancy.max(1.0).sqrt()).max(default_h0))
        }
        Step::PerCoordinate(h) => {
            if h.len() != x0.len() {
                return Err(Error::DimensionMismatch {
                    what: "per-coordinate steps",
                    expected: x0.len(),
                    found: h.len(),
                });
            }
            for &v in h {
                positive("per-coordinate step", v)?;
            }
            h.clone()
        }
    };
    // A finite relative step times a large |x0_c| can still overflow.
    if let Some(c) = h.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidSetting {
            name: "step",
            value: format!("{} at x0[{c}] = {}", h[c], x0[c]),
            reason: "the step h0 · max(1, |x0_c|) overflows",
        });
    }
    Ok(h)
}
