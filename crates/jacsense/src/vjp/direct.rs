//! The direct route: `w = Jᵀv` sensed from scalar measurements (DESIGN.md §5, route b).
//!
//! A call at `x0 + H d_t` gives `y_t ≈ f(x0) + J H d_t`, so for every upstream vector
//! `v` the scalar `s_t = vᵀ(y_t − f(x0)) ≈ ⟨w, H d_t⟩` is one linear measurement of the
//! n-vector `w`. Only the coordinates where `w` may be nonzero (the candidates `U`: the
//! union of the pattern rows that `v` weights) are perturbed — the others do not change
//! `⟨w, d⟩` — with Gaussian coefficients scaled by the step rule of DESIGN.md §1. The
//! unknowns are `z_c = w_c h_c`, seen through the *effective* coefficients
//! `((x0_c + h_c d_tc) − x0_c) / h_c` (the perturbation made in floating point), and are
//! solved by least squares on `U` (`k ≥ |U|`), by sparse recovery when `w` is declared
//! `s`-sparse (`k ≈ s ln(|U|/s) + 2s`, Candès & Tao 2006 for the `s log(n/s)` scaling;
//! the constant is measured by the `vjp` example), or, when a fraction `p` of the calls
//! may be grossly wrong, by L1 decoding with an offset unknown for `f(x0)` (Dwork,
//! McSherry & Talwar 2007; `k = ⌈|U| · 1.2/(0.4 − p)⌉ + 2`, the rule of the Jacobian
//! planner). Every `v` of a batch shares the same calls: only the projections `vᵀ y_t`
//! differ, and the values are told back in any order ([`DirectMeasurements`]).

use faer::Mat;

use crate::blackbox::{Erasure, ErasureReason, first_non_finite};
use crate::decode::RowStatus;
use crate::decode::{Decoder, LeastAbsoluteDeviations, LeastSquares, RowSolve, SparseRecovery};
use crate::design::{Design, Difference, Directions, RandomDistribution, random_directions};
use crate::error::{Error, Result};
use crate::measurements::CallState;
use crate::settings::SparseMethod;

/// How the direct route decodes `w` on its candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DirectDecoder {
    /// Least squares on every candidate (`k ≥ |U|`).
    LeastSquares,
    /// L1 decoding on every candidate, with an offset for forward differences
    /// (`k ≥ |U| + 1`): robust to a fraction of grossly wrong calls, `f(x0)` among them.
    L1,
    /// Sparse recovery of an `s`-sparse `w` among the candidates.
    Sparse(SparseMethod),
}

/// Directions sparse recovery of one `s`-sparse vector among `d` candidates needs from
/// Gaussian measurements: `⌈s ln(d/s)⌉ + 2s`. The `vjp` example measured s = 10 among
/// d = 10,000 (OMP): every trial recovered at k = 80; this rule asks for 90.
pub(crate) fn sparse_directions(s: usize, d: usize) -> usize {
    let s = s.max(1);
    (s as f64 * (d as f64 / s as f64).max(1.0).ln()).ceil() as usize + 2 * s
}

/// The direct route made concrete at `x0`: candidates, steps, directions, decoder.
#[derive(Clone, Debug)]
pub(crate) struct DirectPlan {
    pub(crate) x0: Vec<f64>,
    /// Outputs of the blackbox.
    pub(crate) m: usize,
    /// The coordinates perturbed (ascending): where `w` may be nonzero.
    pub(crate) candidates: Vec<usize>,
    /// `h_c` for each candidate.
    pub(crate) steps: Vec<f64>,
    /// Number of directions.
    pub(crate) k: usize,
    /// Coefficient of candidate `p` in direction `t`: `values[p * k + t]`.
    pub(crate) values: Vec<f64>,
    pub(crate) difference: Difference,
    pub(crate) decoder: DirectDecoder,
    /// For each `v` of a batch, which candidates its own rows reach (`None`: all):
    /// outside them its `w` is zero by the pattern, whatever the shared decode says.
    pub(crate) own: Vec<Option<Vec<bool>>>,
}

/// `k` Gaussian directions over `d` candidates: coefficient of candidate `p` in
/// direction `t` is `values[p * k + t]`, reproducible from `seed`.
pub(crate) fn gaussian_directions(d: usize, k: usize, seed: u64) -> Vec<f64> {
    match random_directions(d, k, RandomDistribution::Gaussian, seed) {
        Directions::Dense { values, .. } => values,
        _ => unreachable!("random directions are dense"),
    }
}

impl DirectPlan {
    /// Calls of the blackbox: none when nothing can be nonzero, else `k + 1` (forward)
    /// or `2k` (central).
    pub(crate) fn calls(&self) -> usize {
        calls_for(self.k, self.difference)
    }

    /// The point of call `call` (numbered as in [`Plan::point`](crate::Plan::point)).
    pub(crate) fn point(&self, call: usize, x: &mut [f64]) {
        x.copy_from_slice(&self.x0);
        let (t, sign) = match self.difference {
            Difference::Forward if call == 0 => return,
            Difference::Forward => (call - 1, 1.0),
            Difference::Central => (call / 2, if call.is_multiple_of(2) { 1.0 } else { -1.0 }),
        };
        for (p, &c) in self.candidates.iter().enumerate() {
            x[c] = self.x0[c] + sign * self.steps[p] * self.values[p * self.k + t];
        }
    }

    /// The effective coefficient of candidate `p` in direction `t` (see the module docs).
    fn effective(&self, p: usize, t: usize) -> f64 {
        self.difference.effective_coefficient(self.x0[self.candidates[p]], self.steps[p], self.values[p * self.k + t])
    }

    /// The calls measurement `t` combines: `(plus, minus)`, `minus` being `None` for
    /// forward differences (whose other call is `f(x0)`, call 0).
    fn calls_of(&self, t: usize) -> (usize, Option<usize>) {
        match self.difference {
            Difference::Forward => (t + 1, None),
            Difference::Central => (2 * t, Some(2 * t + 1)),
        }
    }
}

/// The values of a direct plan's calls, told in any order; only the outputs that some
/// `v` weights are kept (the others do not enter any `vᵀy`).
#[derive(Clone, Debug)]
pub(crate) struct DirectMeasurements {
    /// The outputs kept (ascending).
    outputs: Vec<usize>,
    /// Output `outputs[j]` of call `call` at `values[call * outputs.len() + j]`.
    values: Vec<f64>,
    state: Vec<CallState>,
}

impl DirectMeasurements {
    pub(crate) fn new(plan: &DirectPlan, vs: &[Vec<f64>]) -> Self {
        let outputs: Vec<usize> = (0..plan.m).filter(|&i| vs.iter().any(|v| v[i] != 0.0)).collect();
        let calls = plan.calls();
        DirectMeasurements {
            values: vec![f64::NAN; calls * outputs.len()],
            outputs,
            state: vec![CallState::Pending; calls],
        }
    }

    fn check_call(&self, call: usize) -> Result<()> {
        if call >= self.state.len() {
            return Err(Error::UnknownCall { index: call, calls: self.state.len() });
        }
        Ok(())
    }

    /// Records `y = f(point(call))` (`m` outputs); a non-finite output erases the call.
    pub(crate) fn tell(&mut self, plan: &DirectPlan, call: usize, y: &[f64]) -> Result<()> {
        self.check_call(call)?;
        if y.len() != plan.m {
            return Err(Error::DimensionMismatch {
                what: "value length (outputs m)",
                expected: plan.m,
                found: y.len(),
            });
        }
        if let Err(reason) = first_non_finite(y) {
            self.state[call] = CallState::Erased(reason);
            return Ok(());
        }
        let o = self.outputs.len();
        for (slot, &i) in self.values[call * o..(call + 1) * o].iter_mut().zip(&self.outputs) {
            *slot = y[i];
        }
        self.state[call] = CallState::Told;
        Ok(())
    }

    pub(crate) fn erase(&mut self, call: usize, reason: ErasureReason) -> Result<()> {
        self.check_call(call)?;
        self.state[call] = CallState::Erased(reason);
        Ok(())
    }

    pub(crate) fn calls_made(&self) -> usize {
        self.state.iter().filter(|s| **s != CallState::Pending).count()
    }

    /// Erased calls and calls never told ([`ErasureReason::Missing`]), by call.
    pub(crate) fn erasures(&self) -> Vec<Erasure> {
        crate::measurements::erasures_of(&self.state)
    }

    fn told(&self, call: usize) -> bool {
        self.state[call] == CallState::Told
    }

    fn values_of(&self, call: usize) -> &[f64] {
        let o = self.outputs.len();
        &self.values[call * o..(call + 1) * o]
    }

    /// The scalar measurement `t` for `v`: `vᵀ(y_t − f(x0))` (`vᵀy_t` when `f(x0)` is
    /// not subtracted), `vᵀ(y₊ − y₋)/2` for central differences. Each output's difference
    /// is taken before weighting: the sum of the weighted values would lose the digits
    /// the difference keeps.
    fn projection(&self, plan: &DirectPlan, t: usize, v: &[f64], subtract_base: bool) -> f64 {
        let weigh = |i: usize, d: f64| if v[i] == 0.0 { 0.0 } else { v[i] * d };
        let (plus, minus) = plan.calls_of(t);
        let y = self.values_of(plus);
        let outputs = self.outputs.iter().copied();
        match minus {
            Some(minus) => {
                let b = self.values_of(minus);
                0.5 * outputs.zip(y.iter().zip(b)).map(|(i, (yi, bi))| weigh(i, yi - bi)).sum::<f64>()
            }
            None if subtract_base => {
                let b = self.values_of(0);
                outputs.zip(y.iter().zip(b)).map(|(i, (yi, bi))| weigh(i, yi - bi)).sum()
            }
            None => outputs.zip(y).map(|(i, &yi)| weigh(i, yi)).sum(),
        }
    }

    /// Decodes `w` for every `v` from the calls told; erased and missing calls are
    /// dropped, and measurements judged grossly wrong (L1) are reported as calls.
    pub(crate) fn decode(&self, plan: &DirectPlan, vs: &[Vec<f64>]) -> Vec<DirectSolve> {
        let n = plan.x0.len();
        let d = plan.candidates.len();
        let erasures = self.erasures();
        if plan.k == 0 {
            return vs.iter().map(|_| DirectSolve::zero(n)).collect();
        }
        let forward = plan.difference == Difference::Forward;
        let base_valid = !forward || self.told(0);
        let valid: Vec<usize> = (0..plan.k)
            .filter(|&t| {
                let (plus, minus) = plan.calls_of(t);
                self.told(plus) && minus.is_none_or(|c| self.told(c))
            })
            .collect();
        // An offset unknown (a column of ones) carries the term common to every forward
        // measurement, −vᵀ(error of f(x0)): always for L1, where f(x0) may be grossly
        // wrong like any call, and without a told f(x0) for least squares (there it is
        // −vᵀf(x0) itself). Never for sparse recovery: it would compete for the support.
        let offset = forward && (plan.decoder == DirectDecoder::L1 || !base_valid);
        let kv = valid.len();
        let cols = d + usize::from(offset);
        let a = Mat::<f64>::from_fn(kv, cols, |r, p| if p < d { plan.effective(p, valid[r]) } else { 1.0 });
        let mut y = Mat::<f64>::from_fn(kv, vs.len(), |r, g| self.projection(plan, valid[r], &vs[g], base_valid));
        // L1 with an offset: shift each right-hand side by its median first, so that a
        // grossly wrong f(x0) inflates neither the unknowns nor the rounding level the
        // decoder judges residuals against (as the Jacobian's rows do).
        let shift: Vec<f64> = (0..vs.len())
            .map(|g| {
                if !(offset && plan.decoder == DirectDecoder::L1) || kv == 0 {
                    return 0.0;
                }
                let mut col: Vec<f64> = (0..kv).map(|r| y[(r, g)]).collect();
                let mid = kv / 2;
                *col.select_nth_unstable_by(mid, f64::total_cmp).1
            })
            .collect();
        for (g, &s) in shift.iter().enumerate() {
            y.col_mut(g).iter_mut().for_each(|v| *v -= s);
        }
        let mut z = Mat::<f64>::zeros(cols, vs.len());
        let (solves, name) = match plan.decoder {
            DirectDecoder::Sparse(_) if offset => {
                z.fill(f64::NAN);
                let failed = RowSolve {
                    status: RowStatus::Underdetermined { determined: 0, unknowns: d },
                    ..Default::default()
                };
                (vec![failed; vs.len()], SparseRecovery::default().name())
            }
            DirectDecoder::Sparse(method) => {
                let decoder = SparseRecovery { method, ..SparseRecovery::default() };
                (decoder.solve(a.as_ref(), y.as_ref(), z.as_mut()), decoder.name())
            }
            DirectDecoder::LeastSquares => {
                let decoder = LeastSquares::default();
                (decoder.solve(a.as_ref(), y.as_ref(), z.as_mut()), decoder.name())
            }
            DirectDecoder::L1 => {
                let decoder = LeastAbsoluteDeviations::default();
                (decoder.solve(a.as_ref(), y.as_ref(), z.as_mut()), decoder.name())
            }
        };
        solves
            .into_iter()
            .enumerate()
            .map(|(g, solve)| {
                let mut w = vec![0.0; n];
                let own = plan.own.get(g).and_then(|o| o.as_deref());
                for (p, &c) in plan.candidates.iter().enumerate() {
                    if own.is_none_or(|o| o[p]) {
                        w[c] = z[(p, g)] / plan.steps[p];
                    }
                }
                let status = match solve.status {
                    RowStatus::Underdetermined { determined, unknowns } if offset => {
                        let offset_determined = !z[(d, g)].is_nan();
                        RowStatus::Underdetermined {
                            determined: determined - usize::from(offset_determined),
                            unknowns: unknowns - 1,
                        }
                    }
                    s => s,
                };
                // f(x0) is grossly wrong when the offset stands out of the noise as the
                // Jacobian's rows judge it (decode module): by 10 standard errors and
                // 100 noise levels.
                let base_wrong = offset && base_valid && solve.dof > 0 && {
                    let c = (z[(d, g)] + shift[g]).abs();
                    let noise_var = solve.residual * solve.residual / solve.dof as f64;
                    let se = (noise_var * solve.variance_factors.get(d).copied().unwrap_or(f64::NAN)).sqrt();
                    c > OFFSET_OUTLIER_SE * se && c > OFFSET_OUTLIER_NOISE * noise_var.sqrt()
                };
                let mut outliers: Vec<usize> = solve
                    .outliers
                    .iter()
                    .flat_map(|&r| {
                        let (plus, minus) = plan.calls_of(valid[r]);
                        std::iter::once(plus).chain(minus)
                    })
                    .chain(base_wrong.then_some(0))
                    .collect();
                outliers.sort_unstable();
                let support = solve
                    .support
                    .map(|s| s.into_iter().filter(|&p| own.is_none_or(|o| o[p])).map(|p| plan.candidates[p]).collect());
                DirectSolve {
                    w,
                    status,
                    residual: Some(solve.residual),
                    support,
                    erasures: erasures.clone(),
                    outliers,
                    decoder: name,
                }
            })
            .collect()
    }
}

/// A forward measurement's offset is a grossly wrong `f(x0)` when it exceeds this many
/// of its standard errors and this many noise levels (the rule of the Jacobian's rows).
const OFFSET_OUTLIER_SE: f64 = 10.0;
const OFFSET_OUTLIER_NOISE: f64 = 100.0;

/// Calls for `k` directions (none for none).
pub(crate) fn calls_for(k: usize, difference: Difference) -> usize {
    match (k, difference) {
        (0, _) => 0,
        (k, Difference::Forward) => k + 1,
        (k, Difference::Central) => 2 * k,
    }
}

/// Directions least squares on `d` candidates uses by default.
pub(crate) fn least_squares_directions(d: usize) -> usize {
    if d == 0 { 0 } else { d + Design::RANDOM_OVERSAMPLING }
}

/// Directions L1 decoding on `d` candidates uses by default when a fraction `p` of the
/// calls may be grossly wrong: the Jacobian planner's rule for `d` unknowns.
pub(crate) fn robust_directions(d: usize, p: f64) -> usize {
    if d == 0 { 0 } else { crate::planner::robust_directions(d, p) }
}

/// One decoded `w` of the direct route.
pub(crate) struct DirectSolve {
    pub(crate) w: Vec<f64>,
    pub(crate) status: RowStatus,
    pub(crate) residual: Option<f64>,
    pub(crate) support: Option<Vec<usize>>,
    pub(crate) erasures: Vec<Erasure>,
    /// Calls judged grossly wrong (ascending).
    pub(crate) outliers: Vec<usize>,
    pub(crate) decoder: &'static str,
}

impl DirectSolve {
    fn zero(n: usize) -> Self {
        DirectSolve {
            w: vec![0.0; n],
            status: RowStatus::Determined,
            residual: Some(0.0),
            support: Some(Vec::new()),
            erasures: Vec::new(),
            outliers: Vec::new(),
            decoder: "none",
        }
    }
}
