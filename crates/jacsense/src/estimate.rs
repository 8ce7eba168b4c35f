//! The estimate: `J` (sparse or dense) and the diagnostics of how it was obtained.

use crate::blackbox::Erasure;
use crate::coloring::Ordering;
use crate::pattern::SparseMatrix;

/// Whether a row of `J` was determined by its measurements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RowStatus {
    /// Every unknown of the row is determined.
    #[default]
    Determined,
    /// The row's system is rank deficient (too few valid measurements, e.g. after
    /// erasures): `determined` of its `unknowns` entries are still determined; the
    /// others are NaN in the estimate.
    Underdetermined {
        /// Entries determined.
        determined: usize,
        /// Unknowns of the row.
        unknowns: usize,
    },
}

/// How one row was decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct RowReport {
    /// Whether the row was determined.
    pub status: RowStatus,
    /// `‖A z − y‖₂` of the row's system, in units of output differences (zero when
    /// the row has no redundancy).
    pub residual: f64,
    /// Estimated condition number of the row's scaled system (1 for read-off rows,
    /// ∞ when rank deficient).
    pub condition: f64,
    /// Valid measurements the row was decoded from.
    pub measurements: usize,
}

impl RowReport {
    pub(crate) fn empty() -> Self {
        RowReport { status: RowStatus::Determined, residual: 0.0, condition: 1.0, measurements: 0 }
    }
}

impl Default for RowReport {
    fn default() -> Self {
        RowReport::empty()
    }
}

/// How an estimate was obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostics {
    /// Name of the design.
    pub design: &'static str,
    /// Name of the decoder.
    pub decoder: &'static str,
    /// Calls of the blackbox made (including failed ones).
    pub calls: usize,
    /// Measurements (directions) of the plan.
    pub measurements: usize,
    /// Measurements whose calls all succeeded.
    pub valid_measurements: usize,
    /// For a colored design: the ordering and the number of colors.
    pub colors: Option<(Ordering, usize)>,
    /// Calls dropped from decoding, with their reasons.
    pub erasures: Vec<Erasure>,
    /// One report per row of `J`.
    pub rows: Vec<RowReport>,
    /// `f(x0)`, when the design called it (forward differences).
    pub f0: Option<Vec<f64>>,
}

/// An estimate of the Jacobian with its diagnostics.
///
/// ```
/// use jacsense::{estimate, from_fn};
/// let f = from_fn(2, 2, |x: &[f64], y: &mut [f64]| {
///     y[0] = x[0] * x[1];
///     y[1] = x[0].sin();
/// });
/// let est = estimate(&f, &[1.0, 2.0])?;
/// assert!(est.is_complete());
/// let j = est.dense();
/// assert!((j[(0, 0)] - 2.0).abs() < 1e-6 && (j[(1, 0)] - 1f64.cos()).abs() < 1e-6);
/// assert_eq!(est.diagnostics().calls, 3); // f(x0) and one call per column
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    jacobian: SparseMatrix,
    diagnostics: Diagnostics,
}

impl Estimate {
    pub(crate) fn new(jacobian: SparseMatrix, diagnostics: Diagnostics) -> Self {
        Estimate { jacobian, diagnostics }
    }

    /// `J` as a sparse matrix on the structure's pattern (undetermined entries NaN).
    pub fn jacobian(&self) -> &SparseMatrix {
        &self.jacobian
    }

    /// `J` as a dense `m × n` matrix.
    pub fn dense(&self) -> faer::Mat<f64> {
        self.jacobian.to_dense()
    }

    /// How the estimate was obtained.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// Whether every row was determined.
    pub fn is_complete(&self) -> bool {
        self.diagnostics.rows.iter().all(|r| r.status == RowStatus::Determined)
    }

    /// Rows that were not determined.
    pub fn undetermined_rows(&self) -> Vec<usize> {
        (0..self.diagnostics.rows.len()).filter(|&i| self.diagnostics.rows[i].status != RowStatus::Determined).collect()
    }

    /// Takes the sparse Jacobian and the diagnostics apart.
    pub fn into_parts(self) -> (SparseMatrix, Diagnostics) {
        (self.jacobian, self.diagnostics)
    }
}
