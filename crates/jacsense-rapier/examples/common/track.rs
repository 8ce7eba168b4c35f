//! Tracking a Jacobian along a trajectory from a prior (DESIGN.md §9, "Priors").
//!
//! Along a trajectory `J(x_{t+1}) ≈ J(x_t)`. At each new point the tracker predicts
//! `J` from the previous estimates (the last one, or a linear extrapolation of the last
//! two), calls `f` along `k` random directions `d`, and measures the change
//! `r = (f(x0 + d) − f(x0)) − J_pred d`. The least-change update on the pattern
//! (per row, the minimum-norm correction in step-scaled coordinates that explains the
//! `k` residuals: a multi-secant Broyden update restricted to the allowed entries) gives
//! `J1`. Then `v` further directions, held back from the update, validate it: the
//! relative prediction error `‖y − J1 e‖ / ‖y‖` on each must stay within the tolerance
//! (at least a few times the finite-difference error of one measurement). When
//! validation fails — a contact appears or breaks, a regime switches — `J` is sensed
//! from scratch with the full scheme (given `f(x0)`, which is not called again).
//!
//! Only the core's public API is used: the scheme and plan for the full re-sense,
//! `SparseMatrix` for the estimates.

use jacsense::{Blackbox, Difference, Error, PlanOptions, Scheme, Settings, SparseMatrix, Step, Structure};

/// How the tracker senses the change of `J`.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackSettings {
    /// Random directions for the update (`k`).
    pub directions: usize,
    /// Held-back directions that validate the update (`v`, at least 1).
    pub validation: usize,
    /// The relative prediction error on a held-back call accepted (raised to at least
    /// 4 times the finite-difference error of one measurement).
    pub tolerance: f64,
    /// Predict from the last two estimates (`J_{t−1} + (J_{t−1} − J_{t−2})`) rather than
    /// the last one, while no re-sense came between them.
    pub extrapolate: bool,
}

impl Default for TrackSettings {
    fn default() -> Self {
        TrackSettings { directions: 2, validation: 1, tolerance: 1e-6, extrapolate: true }
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

/// Tracks `J` along a trajectory: one [`Tracker::estimate`] per point.
pub struct Tracker {
    scheme: Scheme,
    settings: TrackSettings,
    prior: Option<SparseMatrix>,
    before: Option<SparseMatrix>,
    rng: u64,
}

impl Tracker {
    /// A tracker for `structure`; `settings` are those of the full re-sense (its seed
    /// also seeds the tracker's directions).
    pub fn new(structure: &Structure, settings: &Settings, track: TrackSettings) -> Result<Tracker, Error> {
        if track.validation == 0 || !(track.tolerance > 0.0) {
            return Err(Error::InvalidSetting {
                name: "track",
                value: format!("{track:?}"),
                reason: "a tracker needs at least one held-back call and a positive tolerance",
            });
        }
        let scheme = Scheme::new(structure, settings)?;
        Ok(Tracker { scheme, settings: track, prior: None, before: None, rng: settings.seed ^ 0x9e37_79b9_7f4a_7c15 })
    }

    /// Calls of a full re-sense given `f(x0)`.
    pub fn full_calls(&self) -> usize {
        self.scheme.calls() - usize::from(self.scheme.settings().difference == Difference::Forward)
    }

    /// Forgets the prior: the next estimate senses from scratch.
    pub fn reset(&mut self) {
        self.prior = None;
        self.before = None;
    }

    /// `J` at `x0`, from the prior when it validates; `f0 = f(x0)` when the caller has it
    /// (a rollout does), else one call makes it.
    pub fn estimate<B: Blackbox + Sync + ?Sized>(&mut self, f: &B, x0: &[f64], f0: Option<&[f64]>) -> Result<Tracked, Error> {
        let (n, m) = f.dims();
        let mut calls = 0;
        let f0: Vec<f64> = match f0 {
            Some(v) => v.to_vec(),
            None => {
                let mut y = vec![0.0; m];
                calls += 1;
                match f.call(x0, &mut y) {
                    Ok(()) if y.iter().all(|v| v.is_finite()) => y,
                    // No f(x0): the full scheme makes its own call at x0.
                    _ => return self.resense(f, x0, None, calls, None),
                }
            }
        };
        let Some(prior) = self.prediction() else { return self.resense(f, x0, Some(f0), calls, None) };
        let h = steps(&self.scheme.settings().step, x0);
        let (k, v) = (self.settings.directions, self.settings.validation);
        // Directions in step-scaled coordinates: g ~ N(0, 1), d = h ⊙ g.
        let g: Vec<Vec<f64>> = (0..k + v).map(|_| (0..n).map(|_| self.gaussian()).collect()).collect();
        let mut y: Vec<Vec<f64>> = Vec::with_capacity(k + v);
        let mut x = vec![0.0; n];
        for gt in &g {
            for c in 0..n {
                x[c] = x0[c] + h[c] * gt[c];
            }
            let mut out = vec![0.0; m];
            calls += 1;
            match f.call(&x, &mut out) {
                Ok(()) if out.iter().all(|v| v.is_finite()) => {
                    y.push(out.iter().zip(&f0).map(|(a, b)| a - b).collect());
                }
                _ => return self.resense(f, x0, Some(f0), calls, None),
            }
        }
        // The least-change update from the first k directions.
        let pattern = prior.pattern().clone();
        let mut values = prior.values().to_vec();
        let predict = |values: &[f64], t: usize, i: usize| -> f64 {
            let range = pattern.row_range(i);
            pattern.row(i).iter().zip(&values[range]).map(|(&c, &a)| a * h[c] * g[t][c]).sum()
        };
        for i in 0..m {
            let cols = pattern.row(i);
            if cols.is_empty() || k == 0 {
                continue;
            }
            let r: Vec<f64> = (0..k).map(|t| y[t][i] - predict(&values, t, i)).collect();
            // Gram matrix of the row's scaled directions, k × k, and its solve.
            let mut gram = vec![0.0; k * k];
            for a in 0..k {
                for b in 0..k {
                    gram[a * k + b] = cols.iter().map(|&c| g[a][c] * g[b][c]).sum();
                }
            }
            let Some(w) = solve(&mut gram, &r, k) else { continue };
            let start = pattern.row_start(i);
            for (p, &c) in cols.iter().enumerate() {
                let delta: f64 = (0..k).map(|t| g[t][c] * w[t]).sum();
                values[start + p] += delta / h[c];
            }
        }
        // Validation on the held-back directions.
        let mut worst: f64 = 0.0;
        for t in k..k + v {
            let (mut err, mut norm) = (0.0, 0.0);
            for (i, yi) in y[t].iter().enumerate() {
                let e = yi - predict(&values, t, i);
                err += e * e;
                norm += yi * yi;
            }
            worst = worst.max(if norm > 0.0 { (err / norm).sqrt() } else if err > 0.0 { f64::INFINITY } else { 0.0 });
        }
        if worst <= self.tolerance() {
            let jacobian = SparseMatrix::new(pattern, values)?;
            self.before = self.prior.replace(jacobian.clone());
            Ok(Tracked { jacobian, calls, resensed: false, validation_error: Some(worst) })
        } else {
            self.resense(f, x0, Some(f0), calls, Some(worst))
        }
    }

    /// The accepted relative prediction error: the setting, or 4 times the error of one
    /// forward-difference measurement (truncation and rounding, `2√ε`, plus the noise
    /// over the step) when that is larger.
    pub fn tolerance(&self) -> f64 {
        let s = self.scheme.settings();
        let h0 = match s.step {
            Step::Relative(h) => h,
            _ => f64::EPSILON.sqrt(),
        };
        let floor = 4.0 * (2.0 * f64::EPSILON.sqrt() + s.noise / h0);
        self.settings.tolerance.max(floor)
    }

    fn prediction(&self) -> Option<SparseMatrix> {
        let last = self.prior.as_ref()?;
        match (&self.before, self.settings.extrapolate) {
            (Some(b), true) if b.pattern() == last.pattern() => {
                let values = last.values().iter().zip(b.values()).map(|(a, b)| 2.0 * a - b).collect();
                SparseMatrix::new(last.pattern().clone(), values).ok()
            }
            _ => Some(last.clone()),
        }
    }

    fn resense<B: Blackbox + Sync + ?Sized>(
        &mut self,
        f: &B,
        x0: &[f64],
        f0: Option<Vec<f64>>,
        calls: usize,
        validation_error: Option<f64>,
    ) -> Result<Tracked, Error> {
        let plan = self.scheme.at_with(x0, &PlanOptions { f0, ..PlanOptions::default() })?;
        let est = plan.evaluate(f)?.decode();
        let calls = calls + est.diagnostics().calls;
        let jacobian = est.jacobian().clone();
        // A re-sense starts a new history: no extrapolation across it.
        self.before = None;
        self.prior = Some(jacobian.clone());
        Ok(Tracked { jacobian, calls, resensed: true, validation_error })
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

/// The forward-difference step per coordinate (DESIGN.md §1).
fn steps(step: &Step, x0: &[f64]) -> Vec<f64> {
    let scaled = |h0: f64| x0.iter().map(|x| h0 * x.abs().max(1.0)).collect();
    match step {
        Step::Relative(h0) => scaled(*h0),
        Step::Absolute(h) => vec![*h; x0.len()],
        Step::PerCoordinate(h) if h.len() == x0.len() => h.clone(),
        _ => scaled(f64::EPSILON.sqrt()),
    }
}

/// Solves the symmetric `k × k` system `a w = r` by Gaussian elimination with partial
/// pivoting; `None` when it is singular.
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
