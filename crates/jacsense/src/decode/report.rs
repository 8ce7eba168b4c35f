//! What a decode says of each row and of the calls: status, residual, condition,
//! outliers.

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
