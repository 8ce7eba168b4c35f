//! Standard errors of every entry of a jointly decoded `J`: `σ · √(cᵀ (MᵀM)⁻¹ c)` for
//! the entry's combination `c` of unknowns, from the sparse factorization of the normal
//! equations.

use crate::structure::{JointSystem, NormalEquations, Parametrization};

/// Standard error of every entry `Σ coef · z_q + c`: `σ · √(cᵀ (MᵀM)⁻¹ c)`, from the
/// sparse factorization of the normal equations (NaN when that is singular or too
/// large to invert column by column).
pub(super) fn entry_std_errors(sys: &JointSystem, param: &Parametrization, noise_var: f64) -> Vec<f64> {
    let nnz = param.pattern().nnz();
    let Some(normal) = NormalEquations::factor(sys) else { return vec![f64::NAN; nnz] };
    // Single-term entries share their unknown's variance; others need their own.
    let mut combos: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut slot_of_unknown = vec![usize::MAX; sys.unknowns];
    let mut slot = vec![usize::MAX; nnz];
    for (e, s) in slot.iter_mut().enumerate() {
        match param.entry(e).terms {
            [] => {}
            [(q, _)] => {
                if slot_of_unknown[*q] == usize::MAX {
                    slot_of_unknown[*q] = combos.len();
                    combos.push(vec![(*q, 1.0)]);
                }
                *s = slot_of_unknown[*q];
            }
            terms => {
                *s = combos.len();
                combos.push(terms.to_vec());
            }
        }
    }
    let Some(var) = normal.variances(&combos) else { return vec![f64::NAN; nnz] };
    (0..nnz)
        .map(|e| match param.entry(e).terms {
            [] => 0.0,
            [(_, coef)] => coef.abs() * (noise_var * var[slot[e]].max(0.0)).sqrt(),
            _ => (noise_var * var[slot[e]].max(0.0)).sqrt(),
        })
        .collect()
}
