//! Tracking a Jacobian along a trajectory from a prior (DESIGN.md §9, "Priors").
//!
//! Along a trajectory `J(x_{t+1}) ≈ J(x_t)`, and its change from step to step is
//! itself nearly constant. The tracker keeps, for every row of `J` on the structure's
//! pattern, a Kalman filter on the row's entries and their rate of change per step
//! (a constant-rate model; entries in step-scaled units). At each new point it
//! predicts the row (`a ← a + b`), calls `f` along `k` random directions `d`, and
//! updates the filter with the measured `y = f(x0 + d) − f(x0)` — with `k` well below
//! the row's unknowns this is a least-change update of the prediction, weighted by
//! what earlier steps already pinned down (a Broyden-like multi-secant update that
//! also learns the rate). Then `v` further directions, held back from the update,
//! validate the updated `J`: the relative prediction error `‖y − J e‖ / ‖y‖` on each
//! must stay within the tolerance (at least a few times the finite-difference error of
//! one measurement). When validation fails — a contact appears or breaks, a regime
//! switches — `J` is sensed from scratch with the full scheme (given `f(x0)`, which is
//! not called again), and the filter restarts from it: its entries from the full
//! sense, its rates from the polynomial through the latest full senses (up to three,
//! Newton's divided differences), or, when the sensed `J` jumped away from the
//! prediction (by more than 1e-3, relative), from before the jump; two full senses in
//! a row give the rate by their difference. After repeated failures the tracker backs
//! off (senses in full for 1, 3, 7 steps before trying the prior again).
//!
//! The full re-sense is the scheme's plan at the point (given `f(x0)`); the tracker's
//! own calls go through the same guard as a plan's (an error, a panic or a non-finite
//! output fails the step's update, which then re-senses).
//!
//! ```
//! use jacsense::{from_fn, Settings, Structure, TrackSettings, Tracker};
//! // f(x) = A x + 0.1 x³ (A dense) along x(t) = (0.5 + 1e-4 t, …): J = A + 0.3 diag(x²)
//! // changes a little from step to step.
//! let n = 30;
//! let f = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
//!     for i in 0..n {
//!         y[i] = (0..n).map(|j| x[j] / (1.0 + i.abs_diff(j) as f64)).sum::<f64>() + 0.1 * x[i].powi(3);
//!     }
//! });
//! let mut tracker = Tracker::new(&Structure::dense(n, n), &Settings::default(), TrackSettings::default())?;
//! let (mut calls, mut resensed) = (0, 0);
//! for step in 0..50 {
//!     let x = vec![0.5 + 1e-4 * step as f64; n];
//!     let est = tracker.estimate(&f, &x, None)?;
//!     calls += est.calls;
//!     resensed += usize::from(est.resensed);
//!     let expected = 1.0 + 0.3 * x[3] * x[3]; // ∂f₃/∂x₃
//!     assert!((est.jacobian.get(3, 3) - expected).abs() < 1e-5);
//! }
//! assert!(resensed <= 5);     // the prior held at most steps…
//! assert!(calls < 50 * 31 / 3); // …at a fraction of the calls of a full sense (31) per step
//! # Ok::<(), jacsense::Error>(())
//! ```

use crate::blackbox::{Blackbox, call_guarded};
use crate::design::{Difference, Step, steps};
use crate::error::{Error, Result};
use crate::pattern::{Pattern, SparseMatrix};
use crate::plan::{PlanOptions, Scheme, check_f0, check_x0};
use crate::settings::Settings;
use crate::structure::Structure;

/// How the tracker senses the change of `J`.
///
/// ```
/// let s = jacsense::TrackSettings::default();
/// assert_eq!((s.directions, s.validation, s.tolerance), (3, 1, 3e-6));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TrackSettings {
    /// Random directions for the update (`k`).
    pub directions: usize,
    /// Held-back directions that validate the update (`v`, at least 1).
    pub validation: usize,
    /// The relative prediction error on a held-back call accepted (raised to at least
    /// 4 times the finite-difference error of one measurement).
    pub tolerance: f64,
    /// How much the rate of change of `J` may change per step, relative to the row's
    /// size (the filter's process noise).
    pub drift: f64,
}

impl Default for TrackSettings {
    fn default() -> Self {
        TrackSettings { directions: 3, validation: 1, tolerance: 3e-6, drift: 1e-6 }
    }
}

/// The estimate at one point of the trajectory.
#[derive(Clone, Debug)]
pub struct Tracked {
    /// The Jacobian (on the structure's pattern).
    pub jacobian: SparseMatrix,
    /// Calls made at this point (`f(x0)` included when it was not given).
    pub calls: usize,
    /// Whether the update failed validation (or there was no prior) and `J` was sensed
    /// from scratch.
    pub resensed: bool,
    /// The largest relative prediction error of the updated `J` on the held-back calls
    /// (`None` when there was no prior to update).
    pub validation_error: Option<f64>,
}

/// One row's filter: entries `a` and rates `b` in step-scaled units (`J_ic · scale_c`),
/// covariance `p` of `[a; b]` (row-major, `2r × 2r`).
#[derive(Clone, Debug)]
struct RowFilter {
    a: Vec<f64>,
    b: Vec<f64>,
    p: Vec<f64>,
    /// The row's size `‖a‖` when the filter (re)started: the unit of its noise levels.
    size: f64,
}

/// Tracks `J` along a trajectory: one [`Tracker::estimate`] per point (module docs:
/// how).
///
/// ```
/// use jacsense::{Pattern, Settings, Structure, TrackSettings, Tracker};
/// let structure = Structure::sparse(Pattern::banded(50, 50, 1, 1));
/// let tracker = Tracker::new(&structure, &Settings::default(), TrackSettings::default())?;
/// assert_eq!(tracker.full_calls(), 3); // a re-sense: three colors, f(x0) given
/// assert_eq!(tracker.tolerance(), 3e-6);
/// # Ok::<(), jacsense::Error>(())
/// ```
pub struct Tracker {
    scheme: Scheme,
    settings: TrackSettings,
    /// Per coordinate, the step that scales the filters' units (set at a full sense).
    scale: Vec<f64>,
    rows: Vec<RowFilter>,
    /// The latest full senses (at most 3) with the step they were made at: the rate
    /// after a re-sense is the derivative of the polynomial through them.
    fulls: Vec<(u64, SparseMatrix)>,
    /// Steps so far (calls of `estimate`).
    step: u64,
    /// Whether the filters' rates come from full senses (else they are a guess, and a
    /// difference from their prediction says nothing of a jump).
    rate_known: bool,
    /// Validations failed in a row, and steps still to sense in full without trying the
    /// prior (a back-off: where `J` changes too fast for the prior, trying it every step
    /// would cost `k + v` calls more than sensing from scratch).
    failures: u32,
    skip: usize,
    rng: u64,
}

impl Tracker {
    /// A tracker for `structure`; `settings` are those of the full re-sense (its seed
    /// also seeds the tracker's directions).
    pub fn new(structure: &Structure, settings: &Settings, track: TrackSettings) -> Result<Tracker> {
        let positive = track.tolerance > 0.0 && track.tolerance.is_finite();
        let drift_ok = track.drift >= 0.0 && track.drift.is_finite();
        if track.validation == 0 || !positive || !drift_ok {
            return Err(Error::InvalidSetting {
                name: "track",
                value: format!("{track:?}"),
                reason: "a tracker needs at least one held-back call, a positive tolerance and a drift ≥ 0",
            });
        }
        let scheme = Scheme::new(structure, settings)?;
        Ok(Tracker {
            scheme,
            settings: track,
            scale: Vec::new(),
            rows: Vec::new(),
            fulls: Vec::new(),
            step: 0,
            rate_known: false,
            failures: 0,
            skip: 0,
            rng: settings.seed ^ 0x9e37_79b9_7f4a_7c15,
        })
    }

    /// Calls of a full re-sense given `f(x0)`.
    pub fn full_calls(&self) -> usize {
        self.scheme.calls() - usize::from(self.scheme.settings().difference == Difference::Forward)
    }

    /// Forgets the prior: the next estimate senses from scratch.
    pub fn reset(&mut self) {
        self.rows.clear();
        self.fulls.clear();
        self.rate_known = false;
        self.failures = 0;
        self.skip = 0;
    }

    /// The relative error of one forward-difference measurement: truncation and
    /// rounding at the step (`2√ε` at the default step) plus the noise over the step.
    fn measurement_error(&self) -> f64 {
        let s = self.scheme.settings();
        let h0 = match s.step {
            Step::Relative(h) => h,
            _ => f64::EPSILON.sqrt(),
        };
        2.0 * f64::EPSILON.sqrt() + s.noise / h0
    }

    /// The accepted relative prediction error: the setting, or 4 times the error of one
    /// measurement when that is larger.
    pub fn tolerance(&self) -> f64 {
        self.settings.tolerance.max(4.0 * self.measurement_error())
    }

    /// `J` at `x0`, from the prior when it validates; `f0 = f(x0)` when the caller has it
    /// (a rollout does), else one call makes it.
    pub fn estimate<B: Blackbox + Sync + ?Sized>(&mut self, f: &B, x0: &[f64], f0: Option<&[f64]>) -> Result<Tracked> {
        let (n, m) = f.dims();
        self.scheme.check_blackbox(n, m)?;
        check_x0(x0, n)?;
        if let Some(f0) = f0 {
            check_f0(f0, m)?;
        }
        self.step += 1;
        let mut calls = 0;
        let f0: Vec<f64> = match f0 {
            Some(v) => v.to_vec(),
            None => {
                let mut y = vec![0.0; m];
                calls += 1;
                match call_guarded(f, x0, &mut y) {
                    Ok(()) => y,
                    // No f(x0): the full scheme makes its own call at x0.
                    _ => return self.resense(f, x0, None, calls, None),
                }
            }
        };
        if self.rows.is_empty() {
            return self.resense(f, x0, Some(f0), calls, None);
        }
        if self.skip > 0 {
            self.skip -= 1;
            return self.resense(f, x0, Some(f0), calls, None);
        }
        let pattern = self.scheme.structure().pattern().clone();
        let h = steps(&self.scheme.settings().step, Difference::Forward, x0, 1.0)?;
        let (k, v) = (self.settings.directions, self.settings.validation);
        // Directions: g ~ N(0, 1) per coordinate, d = h ⊙ g; in the filters' units the
        // coefficient of coordinate c is d_c / scale_c.
        let g: Vec<Vec<f64>> = (0..k + v).map(|_| (0..n).map(|_| self.gaussian()).collect()).collect();
        let mut y: Vec<Vec<f64>> = Vec::with_capacity(k + v);
        let mut x = vec![0.0; n];
        for gt in &g {
            for c in 0..n {
                x[c] = x0[c] + h[c] * gt[c];
            }
            let mut out = vec![0.0; m];
            calls += 1;
            match call_guarded(f, &x, &mut out) {
                Ok(()) => y.push(out.iter().zip(&f0).map(|(a, b)| a - b).collect()),
                _ => return self.resense(f, x0, Some(f0), calls, None),
            }
        }
        let coef: Vec<Vec<f64>> = g.iter().map(|gt| (0..n).map(|c| h[c] * gt[c] / self.scale[c]).collect()).collect();
        let (eps, drift) = (self.measurement_error(), self.settings.drift);
        let mut rows = self.rows.clone();
        for (i, row) in rows.iter_mut().enumerate() {
            let cols = pattern.row(i);
            let r = cols.len();
            if r == 0 {
                continue;
            }
            let dim = 2 * r;
            // Predict: a ← a + b, P ← F P Fᵀ + Q.
            for c in 0..r {
                row.a[c] += row.b[c];
            }
            predict_covariance(&mut row.p, r);
            for c in 0..r {
                row.p[c * dim + c] += (eps * row.size).powi(2);
                row.p[(r + c) * dim + r + c] += (drift * row.size).powi(2);
            }
            if k == 0 {
                continue;
            }
            // Update with the k measurements: H = [Gᵀ 0] (k × 2r).
            let hrow: Vec<Vec<f64>> = (0..k).map(|t| cols.iter().map(|&c| coef[t][c]).collect()).collect();
            // P Hᵀ (2r × k): only the first r columns of P meet H.
            let mut pht = vec![0.0; dim * k];
            for q in 0..dim {
                for t in 0..k {
                    pht[q * k + t] = (0..r).map(|c| row.p[q * dim + c] * hrow[t][c]).sum();
                }
            }
            let mut s = vec![0.0; k * k];
            let noise = (4.0 * eps * row.size).powi(2);
            for t in 0..k {
                for u in 0..k {
                    s[t * k + u] =
                        (0..r).map(|c| hrow[t][c] * pht[c * k + u]).sum::<f64>() + if t == u { noise } else { 0.0 };
                }
            }
            let innovation: Vec<f64> =
                (0..k).map(|t| y[t][i] - (0..r).map(|c| hrow[t][c] * row.a[c]).sum::<f64>()).collect();
            let Some(w) = solve(&mut s.clone(), &innovation, k) else { continue };
            for q in 0..dim {
                let delta: f64 = (0..k).map(|t| pht[q * k + t] * w[t]).sum();
                if q < r { row.a[q] += delta } else { row.b[q - r] += delta }
            }
            // P ← P − (P Hᵀ) S⁻¹ (P Hᵀ)ᵀ, column by column of S⁻¹ (P Hᵀ)ᵀ.
            let mut sinv_phtt = vec![0.0; k * dim];
            for q in 0..dim {
                let col: Vec<f64> = (0..k).map(|t| pht[q * k + t]).collect();
                if let Some(z) = solve(&mut s.clone(), &col, k) {
                    for t in 0..k {
                        sinv_phtt[t * dim + q] = z[t];
                    }
                }
            }
            for q in 0..dim {
                for o in 0..dim {
                    row.p[q * dim + o] -= (0..k).map(|t| pht[q * k + t] * sinv_phtt[t * dim + o]).sum::<f64>();
                }
            }
        }
        // Validation on the held-back directions.
        let mut worst: f64 = 0.0;
        for t in k..k + v {
            let (mut err, mut norm) = (0.0, 0.0);
            for (i, yi) in y[t].iter().enumerate() {
                let cols = pattern.row(i);
                let predicted: f64 = cols.iter().zip(&rows[i].a).map(|(&c, a)| a * coef[t][c]).sum();
                err += (yi - predicted).powi(2);
                norm += yi * yi;
            }
            worst = worst.max(if norm > 0.0 {
                (err / norm).sqrt()
            } else if err > 0.0 {
                f64::INFINITY
            } else {
                0.0
            });
        }
        if worst <= self.tolerance() {
            self.rows = rows;
            self.failures = 0;
            let jacobian = self.jacobian(&pattern)?;
            Ok(Tracked { jacobian, calls, resensed: false, validation_error: Some(worst) })
        } else {
            // This step's update is dropped (its measurements may straddle a jump and
            // would corrupt the rates); the re-sense keeps the rates from before.
            // Back off after repeated failures: 0, 1, 3, 7 steps (at most 8) of full
            // senses before the prior is tried again.
            self.failures += 1;
            self.skip = ((1usize << (self.failures - 1).min(4)) - 1).min(8);
            self.resense(f, x0, Some(f0), calls, Some(worst))
        }
    }

    fn jacobian(&self, pattern: &Pattern) -> Result<SparseMatrix> {
        let mut values = Vec::with_capacity(pattern.nnz());
        for (i, row) in self.rows.iter().enumerate() {
            values.extend(pattern.row(i).iter().zip(&row.a).map(|(&c, a)| a / self.scale[c]));
        }
        SparseMatrix::new(pattern.clone(), values)
    }

    fn resense<B: Blackbox + Sync + ?Sized>(
        &mut self,
        f: &B,
        x0: &[f64],
        f0: Option<Vec<f64>>,
        calls: usize,
        validation_error: Option<f64>,
    ) -> Result<Tracked> {
        let plan = self.scheme.at_with(x0, &PlanOptions { f0, ..PlanOptions::default() })?;
        let est = plan.evaluate(f)?.decode();
        let calls = calls + est.diagnostics().calls;
        let jacobian = est.jacobian().clone();
        let pattern = jacobian.pattern().clone();
        let eps = self.measurement_error();
        let scale = steps(&self.scheme.settings().step, Difference::Forward, x0, 1.0)?;
        // A jump (the sensed J more than 1e-3 away from the prediction, relative): the
        // older full senses are of the other side of it, and no polynomial through
        // them says anything of the rate now; the filter's rate from before is kept.
        // Two full senses in a row need no such check: their difference is the rate
        // (after a jump between them, the next step fails and the pair after it is
        // on one side).
        let consecutive = self.fulls.last().is_some_and(|(t, _)| *t + 1 == self.step);
        if !consecutive && self.rate_known && self.jumped(&jacobian) {
            self.fulls.clear();
        }
        let rates = self.rates(&jacobian);
        self.rate_known |= rates.is_some();
        let mut rows = Vec::with_capacity(pattern.nrows());
        for i in 0..pattern.nrows() {
            let cols = pattern.row(i);
            let r = cols.len();
            let a: Vec<f64> = cols.iter().zip(jacobian.row_values(i)).map(|(&c, v)| v * scale[c]).collect();
            let size = a.iter().map(|v| v * v).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
            // The rate: the derivative now of the polynomial through the latest full
            // senses (two in a row: their difference), else what the filter had (in the
            // new units), else unknown (a rate of 1% of the row per step).
            let (b, var_b) = match (rates.as_ref(), self.rows.get(i)) {
                (Some(rate), _) => {
                    let range = pattern.row_range(i);
                    let b = cols.iter().zip(&rate[range]).map(|(&c, v)| v * scale[c]).collect();
                    (b, 2.0 * (eps * size).powi(2))
                }
                (None, Some(old)) if old.b.len() == r => {
                    let b = cols.iter().zip(&old.b).map(|(&c, b)| b / self.scale[c] * scale[c]).collect();
                    let var = (0..r).map(|c| old.p[(r + c) * 2 * r + r + c]).fold(0.0, f64::max);
                    (b, var)
                }
                _ => (vec![0.0; r], (1e-2 * size).powi(2)),
            };
            let mut p = vec![0.0; 4 * r * r];
            for c in 0..r {
                p[c * 2 * r + c] = (eps * size).powi(2);
                p[(r + c) * 2 * r + r + c] = var_b;
            }
            rows.push(RowFilter { a, b, p, size });
        }
        self.rows = rows;
        self.scale = scale;
        // Two full senses in a row usually mean a jump: the older ones are of the other
        // side of it.
        if consecutive {
            self.fulls.drain(..self.fulls.len() - 1);
        }
        self.fulls.push((self.step, jacobian.clone()));
        if self.fulls.len() > 3 {
            self.fulls.remove(0);
        }
        Ok(Tracked { jacobian, calls, resensed: true, validation_error })
    }

    /// Whether `j`, sensed in full, is more than 1e-3 (relative) away from the filters'
    /// prediction for this step.
    fn jumped(&self, j: &SparseMatrix) -> bool {
        if self.rows.len() != j.pattern().nrows() {
            return false;
        }
        let (mut diff, mut size) = (0.0, 0.0);
        for (i, row) in self.rows.iter().enumerate() {
            let cols = j.pattern().row(i);
            if row.a.len() != cols.len() {
                return false;
            }
            for (p, (&c, v)) in cols.iter().zip(j.row_values(i)).enumerate() {
                let predicted = (row.a[p] + row.b[p]) / self.scale[c];
                diff += (v - predicted).powi(2);
                size += v * v;
            }
        }
        diff > 1e-6 * size
    }

    /// The rate of change per step of `J` now (`j`, sensed in full at this step), from
    /// the latest full senses within 64 steps: the derivative of the interpolating
    /// polynomial (Newton's divided differences), `None` without an earlier one.
    fn rates(&self, j: &SparseMatrix) -> Option<Vec<f64>> {
        let now = self.step;
        let earlier: Vec<&(u64, SparseMatrix)> =
            self.fulls.iter().filter(|(t, m)| now - t <= 64 && m.pattern() == j.pattern()).collect();
        let t2 = now as f64;
        let (&&(t1, ref j1), before) = earlier.split_last()?;
        let t1 = t1 as f64;
        let f12: Vec<f64> = j.values().iter().zip(j1.values()).map(|(a, b)| (a - b) / (t2 - t1)).collect();
        match before.last() {
            Some(&&(t0, ref j0)) if t1 + 1.0 < t2 => {
                let t0 = t0 as f64;
                Some(
                    f12.iter()
                        .zip(j1.values().iter().zip(j0.values()))
                        .map(|(f12, (a, b))| f12 + (f12 - (a - b) / (t1 - t0)) / (t2 - t0) * (t2 - t1))
                        .collect(),
                )
            }
            _ => Some(f12),
        }
    }

    /// A standard normal draw (splitmix64 and Box–Muller): seeded, the same bits on
    /// every platform.
    fn gaussian(&mut self) -> f64 {
        let mut next = || {
            self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u1, u2) = (next(), next());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// `P ← F P Fᵀ` for `F = [[I, I], [0, I]]` on a `2r × 2r` covariance.
fn predict_covariance(p: &mut [f64], r: usize) {
    let dim = 2 * r;
    // Rows: the first block row gains the second (F P).
    for q in 0..r {
        for o in 0..dim {
            p[q * dim + o] += p[(r + q) * dim + o];
        }
    }
    // Columns: the first block column gains the second ((F P) Fᵀ).
    for q in 0..dim {
        for o in 0..r {
            p[q * dim + o] += p[q * dim + r + o];
        }
    }
}

/// Solves the `k × k` system `a w = r` by Gaussian elimination with partial pivoting;
/// `None` when it is singular.
fn solve(a: &mut [f64], r: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut b = r.to_vec();
    for col in 0..k {
        let p = (col..k).max_by(|&i, &j| a[i * k + col].abs().total_cmp(&a[j * k + col].abs()))?;
        if a[p * k + col] == 0.0 || !a[p * k + col].is_finite() {
            return None;
        }
        for c in 0..k {
            a.swap(col * k + c, p * k + c);
        }
        b.swap(col, p);
        for i in col + 1..k {
            let f = a[i * k + col] / a[col * k + col];
            for c in col..k {
                a[i * k + c] -= f * a[col * k + c];
            }
            b[i] -= f * b[col];
        }
    }
    let mut w = vec![0.0; k];
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|c| a[i * k + c] * w[c]).sum();
        w[i] = (b[i] - s) / a[i * k + i];
    }
    Some(w)
}
