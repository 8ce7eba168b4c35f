//! The Barrodale–Roberts descent for `min ‖A z − y‖₁` on small dense systems.
//!
//! At a vertex with basis `B` (measurements fitted exactly) and inverse
//! `M = A_BC⁻¹`, let `sᵢ = sign(rᵢ)` off the basis and `w = Mᵀ Σ_{i∉B} sᵢ aᵢ`. Moving
//! along column `p` of `σ M` lifts basis residual `p` to `σ t` and changes the
//! objective at rate `1 + σ w_p`; the vertex is optimal iff `|w_p| ≤ 1` for all `p`
//! (the dual `u_B = −w`, `u_N = s` is feasible). Otherwise the most violated `p` leaves
//! (Dantzig's rule) and the step length is the weighted median of the breakpoints
//! `tᵢ = |rᵢ| / |gᵢ|`, `gᵢ = aᵢᵀδ` (each crossing raises the slope by `2|gᵢ|`): one
//! pivot passes as many vertices as pay, which is what makes Barrodale–Roberts fast.

use super::{RowMajor, Vertex, invert_basis};
use crate::decode::SolverLimit;

/// Workspace for one system `A`: reused over right-hand sides, so that the pivots
/// allocate nothing.
pub(super) struct Simplex {
    /// The independent columns `C` of `A`, row-major `k × r`.
    reduced: RowMajor,
    cols: Vec<usize>,
    basis: Vec<usize>,
    /// Position of each measurement in the basis, or `usize::MAX`.
    position: Vec<usize>,
    minv: Vec<f64>,
    z: Vec<f64>,
    residuals: Vec<f64>,
    g: Vec<f64>,
    c: Vec<f64>,
    delta: Vec<f64>,
    alpha: Vec<f64>,
    breaks: Vec<(f64, usize)>,
}

impl Simplex {
    pub(super) fn new(rows: &RowMajor, cols: &[usize]) -> Self {
        let (k, r) = (rows.k, cols.len());
        let mut data = Vec::with_capacity(k * r);
        for i in 0..k {
            data.extend(cols.iter().map(|&c| rows.row(i)[c]));
        }
        Simplex {
            reduced: RowMajor { k, d: r, data },
            cols: cols.to_vec(),
            basis: Vec::with_capacity(r),
            position: vec![usize::MAX; k],
            minv: Vec::with_capacity(r * r),
            z: vec![0.0; r],
            residuals: vec![0.0; k],
            g: vec![0.0; k],
            c: vec![0.0; r],
            delta: vec![0.0; r],
            alpha: vec![0.0; r],
            breaks: Vec::with_capacity(k),
        }
    }

    /// Descends from the vertex of `start` (nonsingular on the columns given to
    /// [`Simplex::new`]) to an optimal vertex for `y`, and reads it from scratch. The
    /// limit, when the descent stopped short of a certified optimum: out of pivots, or a
    /// basis that turned singular (then the vertex is `start`'s).
    pub(super) fn solve(
        &mut self,
        rows: &RowMajor,
        y: &[f64],
        start: &[usize],
        tol: f64,
        max_pivots: usize,
    ) -> (Vertex, Option<SolverLimit>) {
        self.set_basis(rows, y, start);
        let mut pivots = 0;
        let mut limit = None;
        // Refresh from scratch after a claimed optimum; continue if the fresh inverse
        // disagrees (rarely, and never more than a few times).
        for _ in 0..4 {
            let (used, end) = self.descend(tol, max_pivots - pivots.min(max_pivots));
            pivots += used;
            let basis = self.basis.clone();
            if !self.set_basis(rows, y, &basis) {
                self.set_basis(rows, y, start);
                limit = Some(SolverLimit::NumericalError);
                break;
            }
            if end == End::Limit {
                limit = Some(SolverLimit::Pivots);
            }
            if end != End::Optimal || used == 0 {
                break;
            }
        }
        (Vertex::new(rows, y, &self.basis, &self.cols, &self.minv), limit)
    }

    /// Sets the basis, its inverse, `z` and the residuals; false if the basis is
    /// singular.
    fn set_basis(&mut self, rows: &RowMajor, y: &[f64], basis: &[usize]) -> bool {
        if !invert_basis(rows, basis, &self.cols, &mut self.minv) {
            return false;
        }
        let r = basis.len();
        self.basis.clear();
        self.basis.extend_from_slice(basis);
        self.position.fill(usize::MAX);
        for (p, &i) in basis.iter().enumerate() {
            self.position[i] = p;
        }
        self.z.fill(0.0);
        for (p, &i) in basis.iter().enumerate() {
            let yi = y[i];
            self.z.iter_mut().zip(&self.minv[p * r..(p + 1) * r]).for_each(|(zq, &m)| *zq += m * yi);
        }
        for (i, (res, &yi)) in self.residuals.iter_mut().zip(y).enumerate() {
            *res = if self.position[i] == usize::MAX { dot(self.reduced.row(i), &self.z) - yi } else { 0.0 };
        }
        true
    }

    /// Pivots until optimal (`|w_p| ≤ 1 + tol`), a step too small to change `z`
    /// beyond rounding (a degenerate vertex, as exact data give), or `max_pivots`.
    /// Returns the pivots made and how it ended.
    fn descend(&mut self, tol: f64, max_pivots: usize) -> (usize, End) {
        let (k, r) = (self.reduced.k, self.reduced.d);
        if r == 0 {
            return (0, End::Optimal);
        }
        for pivot in 0..max_pivots {
            self.c.fill(0.0);
            for i in 0..k {
                if self.position[i] == usize::MAX {
                    let s = if self.residuals[i] >= 0.0 { 1.0 } else { -1.0 };
                    self.c.iter_mut().zip(self.reduced.row(i)).for_each(|(c, &a)| *c += s * a);
                }
            }
            let (mut p, mut wp) = (0, 0.0f64);
            for q in 0..r {
                let w = dot(&self.c, &self.minv[q * r..(q + 1) * r]);
                if w.abs() > wp.abs() {
                    (p, wp) = (q, w);
                }
            }
            if wp.abs() <= 1.0 + tol {
                return (pivot, End::Optimal);
            }
            let sigma = -wp.signum();
            self.delta.iter_mut().zip(&self.minv[p * r..(p + 1) * r]).for_each(|(dl, &m)| *dl = sigma * m);

            self.breaks.clear();
            for i in 0..k {
                if self.position[i] == usize::MAX {
                    let g = dot(self.reduced.row(i), &self.delta);
                    self.g[i] = g;
                    let ri = self.residuals[i];
                    let s = if ri >= 0.0 { 1.0 } else { -1.0 };
                    if s * g < 0.0 {
                        self.breaks.push((ri.abs() / g.abs(), i));
                    }
                }
            }
            self.breaks.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
            let mut slope = 1.0 - wp.abs();
            let mut enter = None;
            for &(t, i) in &self.breaks {
                slope += 2.0 * self.g[i].abs();
                if slope >= 0.0 {
                    enter = Some((t, i));
                    break;
                }
            }
            let Some((t, q)) = enter else {
                // The objective decreases past every breakpoint: only rounding can do
                // that (the slope at infinity is positive).
                return (pivot, End::Degenerate);
            };

            // Step to the new vertex.
            self.z.iter_mut().zip(&self.delta).for_each(|(z, &dl)| *z += t * dl);
            for i in 0..k {
                if self.position[i] == usize::MAX {
                    self.residuals[i] += t * self.g[i];
                }
            }
            let leaving = self.basis[p];
            self.residuals[leaving] = sigma * t;
            self.residuals[q] = 0.0;

            // Exchange p for q in M = A_BC⁻¹: with αⱼ = a_qᵀ Mⱼ, column p becomes
            // M_p / α_p and every other column Mⱼ − αⱼ · (new M_p).
            let aq = self.reduced.row(q);
            for j in 0..r {
                self.alpha[j] = dot(aq, &self.minv[j * r..(j + 1) * r]);
            }
            let inv = 1.0 / self.alpha[p];
            self.minv[p * r..(p + 1) * r].iter_mut().for_each(|m| *m *= inv);
            let (before, rest) = self.minv.split_at_mut(p * r);
            let (mp, after) = rest.split_at_mut(r);
            for (j, col) in before.chunks_exact_mut(r).chain(after.chunks_exact_mut(r)).enumerate() {
                let aj = self.alpha[if j < p { j } else { j + 1 }];
                if aj != 0.0 {
                    col.iter_mut().zip(mp.iter()).for_each(|(m, &n)| *m -= aj * n);
                }
            }
            self.position[leaving] = usize::MAX;
            self.position[q] = p;
            self.basis[p] = q;

            let zmax = self.z.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let dmax = self.delta.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if t * dmax <= 4.0 * f64::EPSILON * zmax {
                return (pivot + 1, End::Degenerate);
            }
        }
        (max_pivots, End::Limit)
    }
}

/// How a descent ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Every dual multiplier in `[−1, 1]`.
    Optimal,
    /// No step changes `z` beyond rounding: optimal to rounding.
    Degenerate,
    /// Out of pivots.
    Limit,
}

/// `xᵀy` with four accumulators, so that the additions do not wait on each other.
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    let (x4, y4) = (x[..n].chunks_exact(4), y[..n].chunks_exact(4));
    let tail: f64 = x4.remainder().iter().zip(y4.remainder()).map(|(a, b)| a * b).sum();
    let mut acc = [0.0; 4];
    for (a, b) in x4.zip(y4) {
        for l in 0..4 {
            acc[l] += a[l] * b[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}
