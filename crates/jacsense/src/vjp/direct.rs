//! The direct route: `w = Jᵀv` sensed from scalar measurements (DESIGN.md §5, route b).
//!
//! A call at `x0 + H d_t` gives `y_t ≈ f(x0) + J H d_t`, so for every upstream vector
//! `v` the scalar `s_t = vᵀ(y_t − f(x0)) ≈ ⟨w, H d_t⟩` is one linear measurement of the
//! n-vector `w`. Only the coordinates where `w` may be nonzero (the candidates `U`: the
//! union of the pattern rows that `v` weights) are perturbed — the others do not change
//! `⟨w, d⟩` — with Gaussian coefficients scaled by the step rule of DESIGN.md §1. The
//! unknowns are `z_c = w_c h_c`, seen through the *effective* coefficients
//! `((x0_c + h_c d_tc) − x0_c) / h_c` (the perturbation made in floating point), and are
//! solved by least squares on `U` (`k ≥ |U|`) or by sparse recovery when `w` is declared
//! `s`-sparse (`k ≈ s ln(|U|/s) + 2s`, Candès & Tao 2006 for the `s log(n/s)` scaling;
//! the constant is measured by the `vjp` example). Every `v` of a batch shares the same
//! calls: only the projections `vᵀ y_t` differ.

use faer::Mat;
use rayon::prelude::*;

use crate::blackbox::{Blackbox, Erasure, ErasureReason, call_guarded};
use crate::decode::{Decoder, LeastSquares, SparseMethod, SparseRecovery};
use crate::design::{Design, Difference, Directions, RandomDistribution, random_directions};
use crate::estimate::RowStatus;

/// How the direct route decodes `w` on its candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DirectDecoder {
    /// Least squares on every candidate (`k ≥ |U|`).
    LeastSquares,
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

/// The value of one measurement for every `v`, or the erased calls behind it.
type Projection = std::result::Result<Vec<f64>, Vec<Erasure>>;

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

    fn call<B: Blackbox + ?Sized>(&self, f: &B, call: usize, m: usize) -> Result<Vec<f64>, ErasureReason> {
        let mut x = vec![0.0; self.x0.len()];
        self.point(call, &mut x);
        let mut y = vec![0.0; m];
        call_guarded(f, &x, &mut y).map(|()| y)
    }

    /// `vᵀ(y − base)` for every `v` (`vᵀy` without a base).
    fn project(vs: &[Vec<f64>], y: &[f64], base: Option<&[f64]>) -> Vec<f64> {
        let weigh = |vi: f64, d: f64| if vi == 0.0 { 0.0 } else { vi * d };
        vs.iter()
            .map(|v| match base {
                Some(b) => v.iter().zip(y).zip(b).map(|((&vi, yi), bi)| weigh(vi, yi - bi)).sum(),
                None => v.iter().zip(y).map(|(&vi, &yi)| weigh(vi, yi)).sum(),
            })
            .collect()
    }

    /// The calls of measurement `t` and its scalar value for every `v`; `base` is
    /// `f(x0)` for forward differences (when it was told).
    pub(crate) fn measure<B: Blackbox + ?Sized>(
        &self,
        f: &B,
        t: usize,
        base: Option<&[f64]>,
        vs: &[Vec<f64>],
    ) -> Projection {
        let m = f.dims().1;
        match self.difference {
            Difference::Forward => match self.call(f, t + 1, m) {
                Ok(y) => Ok(Self::project(vs, &y, base)),
                Err(reason) => Err(vec![Erasure { call: t + 1, reason }]),
            },
            Difference::Central => match (self.call(f, 2 * t, m), self.call(f, 2 * t + 1, m)) {
                (Ok(plus), Ok(minus)) => {
                    Ok(Self::project(vs, &plus, Some(&minus)).into_iter().map(|s| 0.5 * s).collect())
                }
                (plus, minus) => Err([(2 * t, plus), (2 * t + 1, minus)]
                    .into_iter()
                    .filter_map(|(call, r)| r.err().map(|reason| Erasure { call, reason }))
                    .collect()),
            },
        }
    }

    /// Makes the calls (in parallel over measurements) and decodes `w` for every `v`.
    pub(crate) fn evaluate<B: Blackbox + Sync + ?Sized>(&self, f: &B, vs: &[Vec<f64>]) -> Vec<DirectSolve> {
        self.evaluate_with(f, vs, |base| (0..self.k).into_par_iter().map(|t| self.measure(f, t, base, vs)).collect())
    }

    /// As [`DirectPlan::evaluate`], one call after another; the same bits.
    pub(crate) fn evaluate_sequential<B: Blackbox + ?Sized>(&self, f: &B, vs: &[Vec<f64>]) -> Vec<DirectSolve> {
        self.evaluate_with(f, vs, |base| (0..self.k).map(|t| self.measure(f, t, base, vs)).collect())
    }

    /// Calls `f(x0)` (forward differences), runs the measurements with `measure_all`
    /// and decodes.
    fn evaluate_with<B: Blackbox + ?Sized>(
        &self,
        f: &B,
        vs: &[Vec<f64>],
        measure_all: impl FnOnce(Option<&[f64]>) -> Vec<Projection>,
    ) -> Vec<DirectSolve> {
        let (n, m) = f.dims();
        let d = self.candidates.len();
        if self.k == 0 {
            return vs.iter().map(|_| DirectSolve::zero(n)).collect();
        }
        let mut erasures = Vec::new();
        let (base, projections): (Option<Vec<f64>>, Vec<Projection>) = match self.difference {
            Difference::Forward => {
                let base = match self.call(f, 0, m) {
                    Ok(y) => Some(y),
                    Err(reason) => {
                        erasures.push(Erasure { call: 0, reason });
                        None
                    }
                };
                let proj = measure_all(base.as_deref());
                (base, proj)
            }
            Difference::Central => (Some(Vec::new()), measure_all(None)),
        };
        let valid: Vec<usize> = (0..self.k).filter(|&t| projections[t].is_ok()).collect();
        for p in &projections {
            if let Err(e) = p {
                erasures.extend(e.iter().cloned());
            }
        }
        erasures.sort_by_key(|e| e.call);
        // Without f(x0) a forward decode carries the common term −vᵀf(x0) as one more
        // unknown (least squares only: it would compete for a sparse support).
        let offset = base.is_none();
        let kv = valid.len();
        let cols = d + usize::from(offset);
        let a = Mat::<f64>::from_fn(kv, cols, |r, p| if p < d { self.effective(p, valid[r]) } else { 1.0 });
        let y = Mat::<f64>::from_fn(kv, vs.len(), |r, g| projections[valid[r]].as_ref().expect("valid")[g]);
        let mut z = Mat::<f64>::zeros(cols, vs.len());
        let (solves, name) = match self.decoder {
            DirectDecoder::Sparse(_) if offset => {
                z.fill(f64::NAN);
                let failed = crate::decode::RowSolve {
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
        };
        solves
            .into_iter()
            .enumerate()
            .map(|(g, solve)| {
                let mut w = vec![0.0; n];
                let own = self.own.get(g).and_then(|o| o.as_deref());
                for (p, &c) in self.candidates.iter().enumerate() {
                    if own.is_none_or(|o| o[p]) {
                        w[c] = z[(p, g)] / self.steps[p];
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
                let support = solve
                    .support
                    .map(|s| s.into_iter().filter(|&p| own.is_none_or(|o| o[p])).map(|p| self.candidates[p]).collect());
                DirectSolve {
                    w,
                    status,
                    residual: Some(solve.residual),
                    support,
                    erasures: erasures.clone(),
                    decoder: name,
                }
            })
            .collect()
    }
}

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

/// One decoded `w` of the direct route.
pub(crate) struct DirectSolve {
    pub(crate) w: Vec<f64>,
    pub(crate) status: RowStatus,
    pub(crate) residual: Option<f64>,
    pub(crate) support: Option<Vec<usize>>,
    pub(crate) erasures: Vec<Erasure>,
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
            decoder: "none",
        }
    }
}
