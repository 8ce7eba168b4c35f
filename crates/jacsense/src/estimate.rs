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
    /// Residual degrees of freedom: clean measurements minus determined unknowns.
    pub dof: usize,
    /// Measurements this row judged grossly wrong.
    pub outliers: usize,
    /// Whether the row was decoded with an offset unknown absorbing the error of
    /// `f(x0)` (forward differences with redundancy, or without a valid `f(x0)`).
    pub offset: bool,
    /// Estimated standard deviation of the noise on this output of `f` (pooled with
    /// the other rows), when the decode had redundancy.
    pub noise: Option<f64>,
}

impl RowReport {
    pub(crate) fn empty() -> Self {
        RowReport {
            status: RowStatus::Determined,
            residual: 0.0,
            condition: 1.0,
            measurements: 0,
            dof: 0,
            outliers: 0,
            offset: false,
            noise: None,
        }
    }
}

/// A call judged grossly wrong: most rows that used it flagged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outlier {
    /// Index of the call in the plan.
    pub call: usize,
    /// Rows that flagged it.
    pub rows_flagged: usize,
    /// Rows that used it.
    pub rows_seen: usize,
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
    /// Calls judged grossly wrong by the decoder (for central differences both calls
    /// of a wrong measurement are listed).
    pub outliers: Vec<Outlier>,
    /// Estimated standard deviation of the noise on the outputs of `f`, pooled over
    /// rows, when the design has redundancy.
    pub noise: Option<f64>,
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
    std_errors: Option<Vec<f64>>,
    diagnostics: Diagnostics,
}

impl Estimate {
    pub(crate) fn new(jacobian: SparseMatrix, std_errors: Option<Vec<f64>>, diagnostics: Diagnostics) -> Self {
        Estimate { jacobian, std_errors, diagnostics }
    }

    /// Standard error of each entry of [`jacobian`](Self::jacobian) (aligned with its
    /// values), from the noise seen in the redundant measurements; `None` when the
    /// design had no redundancy. NaN for entries without an estimate. It covers the
    /// noise, not the truncation error of the step.
    ///
    /// ```
    /// use jacsense::problems::{random_matrix, random_pattern, LinearMap, Noisy, Problem};
    /// use jacsense::{estimate_with, Settings, Structure};
    /// let a = random_matrix(random_pattern(50, 50, 3, 1), 2);
    /// let f = Noisy { inner: LinearMap { a: a.clone() }, sigma: 1e-6, seed: 3 };
    /// let settings = Settings { noise: 1e-6, ..Settings::default() }; // redundant calls
    /// let est = estimate_with(&f, &f.x0(), &Structure::sparse(a.pattern().clone()), &settings)?;
    /// let se = est.std_errors().expect("redundancy gives error bars");
    /// assert!(se.iter().all(|s| *s > 0.0));
    /// assert!((est.diagnostics().noise.unwrap() / 1e-6 - 1.0).abs() < 0.5);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn std_errors(&self) -> Option<&[f64]> {
        self.std_errors.as_deref()
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
