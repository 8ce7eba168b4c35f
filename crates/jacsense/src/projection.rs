//! A projection of the blackbox's outputs: the sensed function is `g(x) = Vᵀ f(x)`.
//!
//! The direct route of `vᵀJ` (DESIGN.md §5, [`vjp`](crate::vjp)) senses the `r × n`
//! matrix `VᵀJ`, the Jacobian of `g`, for upstream vectors `V = [v_1 … v_r]` (m × r).
//! Its scheme carries a [`Projection`]; [`Measurements::tell`](crate::Measurements::tell)
//! takes the blackbox's `m` outputs and stores the `r` numbers `Vᵀy`, and everything
//! after that (offsets, decoders, outlier votes, erasures) is the Jacobian path's.
//!
//! Each `v_jᵀy` is summed by Ogita, Rump & Oishi's `Dot2` ("Accurate sum and dot
//! product", SIAM J. Sci. Comput. 26(6), 2005): as if computed in twice the working
//! precision, then rounded once. The decode differences projected values
//! (`v_jᵀy_t − v_jᵀy_0`), so a projection that lost digits to the weighting would cost
//! the difference quotient those digits; rounded once, it loses no more than the
//! rounding `f` itself leaves in each `y_i`.

/// The upstream vectors `v_1 … v_r` (each of the blackbox's `m` outputs) whose
/// projections `v_jᵀy` replace a call's outputs `y`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Projection {
    outputs: usize,
    vs: Vec<Vec<f64>>,
}

impl Projection {
    /// The projection onto `vs`, each of length `outputs` (checked by the caller).
    pub(crate) fn new(outputs: usize, vs: Vec<Vec<f64>>) -> Projection {
        debug_assert!(vs.iter().all(|v| v.len() == outputs));
        Projection { outputs, vs }
    }

    /// Why a projection read from a file cannot serve `rows` rows, if it cannot: a
    /// vector count other than `rows`, a vector of another length than `outputs`, or a
    /// non-finite entry.
    pub(crate) fn check(&self, rows: usize) -> Result<(), String> {
        if self.vs.len() != rows {
            return Err(format!("{} upstream vectors for {rows} rows", self.vs.len()));
        }
        for (j, v) in self.vs.iter().enumerate() {
            if v.len() != self.outputs {
                return Err(format!("upstream vector {j} has {} entries, not m = {}", v.len(), self.outputs));
            }
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(format!("upstream vector {j}: entry {i} = {} is not finite", v[i]));
            }
        }
        Ok(())
    }

    /// Outputs `m` of the blackbox.
    pub(crate) fn outputs(&self) -> usize {
        self.outputs
    }

    /// `(v_1ᵀy, …, v_rᵀy)`.
    pub(crate) fn apply(&self, y: &[f64]) -> Vec<f64> {
        self.vs.iter().map(|v| dot2(v, y)).collect()
    }
}

/// `vᵀy` by `Dot2`: every product split exactly into its rounded value and error
/// (`mul_add`), the sum carried with its error (Knuth's TwoSum), one rounding at the
/// end. Entries where `v` is zero are skipped, so an output no `v` weights never
/// enters.
fn dot2(v: &[f64], y: &[f64]) -> f64 {
    let (mut sum, mut error) = (0.0f64, 0.0f64);
    for (&a, &b) in v.iter().zip(y) {
        if a == 0.0 {
            continue;
        }
        let p = a * b;
        let product_error = a.mul_add(b, -p);
        let t = sum + p;
        let z = t - sum;
        error += (sum - (t - z)) + (p - z) + product_error;
        sum = t;
    }
    sum + error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot2_keeps_the_digits_a_plain_sum_loses() {
        // 1e16 + 1 − 1e16: a plain sum gives 0, the exact value is 1.
        let v = [1.0, 1.0, -1.0, 0.0];
        let y = [1e16, 1.0, 1e16, f64::NAN];
        assert_eq!(v.iter().zip(&y).filter(|(a, _)| **a != 0.0).map(|(a, b)| a * b).sum::<f64>(), 0.0);
        assert_eq!(dot2(&v, &y), 1.0);
        let p = Projection::new(4, vec![v.to_vec(), vec![0.0, 2.0, 0.0, 0.0]]);
        assert_eq!(p.apply(&y), vec![1.0, 2.0]);
    }
}
