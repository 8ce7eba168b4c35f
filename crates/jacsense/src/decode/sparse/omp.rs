//! Orthogonal matching pursuit (Pati, Rezaiifar & Krishnaprasad 1993; Tropp & Gilbert
//! 2007), with the chosen columns kept as an orthonormal basis that grows by one
//! Gram–Schmidt step per column ("twice is enough": Giraud, Langou & Rozložník 2005),
//! so each step costs `O(k·s)` on top of the `O(k·d)` correlation product and nothing
//! is refactored.

use faer::{Col, ColRef, Mat};

use super::{Found, Normalized};

/// An orthonormal basis of chosen unit-norm columns and the residual of `y` against it.
pub(super) struct Basis {
    q: Mat<f64>,
    len: usize,
    residual: Col<f64>,
}

impl Basis {
    pub(super) fn new(y: ColRef<'_, f64>, capacity: usize) -> Self {
        Basis { q: Mat::zeros(y.nrows(), capacity), len: 0, residual: y.to_owned() }
    }

    pub(super) fn residual_norm(&self) -> f64 {
        self.residual.norm_l2()
    }

    pub(super) fn residual(&self) -> ColRef<'_, f64> {
        self.residual.as_ref()
    }

    /// Adds a unit-norm column; `false` (and no change) when it lies numerically in the
    /// span of those already chosen.
    pub(super) fn push(&mut self, column: ColRef<'_, f64>) -> bool {
        let k = column.nrows();
        if self.len == self.q.ncols() {
            return false;
        }
        let chosen = self.q.get(.., ..self.len);
        let mut v = column.to_owned();
        for _ in 0..2 {
            let h = chosen.transpose() * &v;
            v -= chosen * &h;
        }
        let norm = v.norm_l2();
        // A unit column whose component off the span is at rounding level adds nothing.
        if norm.is_nan() || norm <= 8.0 * (k as f64) * f64::EPSILON {
            return false;
        }
        v /= norm;
        let proj = v.transpose() * &self.residual;
        self.residual -= proj * &v;
        self.q.col_mut(self.len).copy_from(&v);
        self.len += 1;
        true
    }
}

/// Greedy support of one right-hand side: columns are added until the residual is at
/// most `tolerance · ‖y‖` or `max_support` columns are chosen. `c0` holds `Âᵀ y`.
pub(super) fn pursue(
    norm: &Normalized,
    y: ColRef<'_, f64>,
    c0: ColRef<'_, f64>,
    max_support: usize,
    tolerance: f64,
) -> Found {
    let d = norm.a.ncols();
    let target = tolerance * y.norm_l2();
    if !target.is_finite() {
        return Found { support: Vec::new(), fits: false, limit: None };
    }
    let mut basis = Basis::new(y, max_support);
    let mut support = Vec::new();
    // Zero columns and columns found dependent are never candidates.
    let mut blocked = norm.zero.clone();
    let mut corr = c0.to_owned();
    loop {
        if basis.residual_norm() <= target {
            return Found { support, fits: true, limit: None };
        }
        if support.len() == max_support {
            return Found { support, fits: false, limit: None };
        }
        // Lowest index among ties, for determinism.
        let mut best: Option<(usize, f64)> = None;
        for j in 0..d {
            let c = corr[j].abs();
            if !blocked[j] && best.is_none_or(|(_, b)| c > b) {
                best = Some((j, c));
            }
        }
        let Some((j, c)) = best else { return Found { support, fits: false, limit: None } };
        if c.is_nan() || c == 0.0 {
            return Found { support, fits: false, limit: None };
        }
        blocked[j] = true;
        if basis.push(norm.a.col(j)) {
            support.push(j);
            corr = norm.a.transpose() * basis.residual();
        }
    }
}
