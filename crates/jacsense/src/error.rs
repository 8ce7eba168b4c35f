//! Errors for bad input.
//!
//! Every variant names the values at fault. How a decode went (a row that could not be
//! determined, calls that failed) is not an error: it is reported in the
//! [`Estimate`](crate::Estimate) diagnostics.

use thiserror::Error;

/// Bad input to a jacsense function.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A pattern entry lies outside the matrix.
    #[error("pattern entry ({row}, {col}) is outside a {nrows}×{ncols} matrix")]
    EntryOutOfBounds {
        /// Row of the entry.
        row: usize,
        /// Column of the entry.
        col: usize,
        /// Rows of the matrix.
        nrows: usize,
        /// Columns of the matrix.
        ncols: usize,
    },
    /// Two objects that must agree in size do not.
    #[error("dimension mismatch: {what} is {found}, expected {expected}")]
    DimensionMismatch {
        /// What was measured, e.g. "x0 length".
        what: &'static str,
        /// The size expected.
        expected: usize,
        /// The size found.
        found: usize,
    },
    /// The point of linearization has a NaN or infinite coordinate.
    #[error("x0[{index}] = {value} is not finite")]
    NonFiniteX0 {
        /// Index of the first non-finite coordinate.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A setting has a value outside its domain.
    #[error("invalid setting: {name} = {value} ({reason})")]
    InvalidSetting {
        /// Name of the setting.
        name: &'static str,
        /// The value given, formatted.
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The design has fewer calls than some row has unknowns.
    #[error(
        "too few calls: row {row} has {unknowns} unknowns but the design makes only {calls} measurements (at least {needed} needed for every row)"
    )]
    TooFewCalls {
        /// A row with the most unknowns.
        row: usize,
        /// Its number of unknowns.
        unknowns: usize,
        /// Measurements the design makes.
        calls: usize,
        /// Measurements needed (the largest row count, `ρ_max`).
        needed: usize,
    },
    /// Grossly wrong calls are expected (`Settings::outliers > 0`) but the design has
    /// too little redundancy for L1 decoding to find them.
    #[error(
        "the {design} design makes {calls} calls, too few to find grossly wrong ones: with a fraction {outliers} of the calls expected wrong, L1 decoding needs at least {needed} calls (leave the design to the planner, Design::Auto, or give a random or rainbow design that many)"
    )]
    TooLittleRedundancy {
        /// The design.
        design: &'static str,
        /// Calls the design makes (0 when it has not chosen them yet).
        calls: usize,
        /// Calls the planner's rule needs for the expected outliers.
        needed: usize,
        /// The expected fraction of wrong calls.
        outliers: f64,
    },
    /// The plan needs more calls than the budget allows.
    #[error("the {design} design needs {calls} calls but the budget is {budget}")]
    OverBudget {
        /// Calls the plan needs.
        calls: usize,
        /// The budget.
        budget: usize,
        /// The design.
        design: &'static str,
    },
    /// Structural knowledge contradicts itself (ties, known entries, symmetry, relations).
    #[error("invalid structure: {0}")]
    InvalidStructure(String),
    /// A coloring does not fit the pattern it is used with.
    #[error("invalid coloring: {0}")]
    InvalidColoring(String),
    /// A call index given to [`Measurements`](crate::Measurements) is not part of the plan.
    #[error("call {index} is not part of a plan with {calls} calls")]
    UnknownCall {
        /// The index given.
        index: usize,
        /// Calls in the plan.
        calls: usize,
    },
    /// A Matrix Market file could not be parsed.
    #[error("Matrix Market line {line}: {message}")]
    MatrixMarket {
        /// 1-based line number of the fault (0 when the file ended early).
        line: usize,
        /// What is wrong, naming the value.
        message: String,
    },
    /// An array the request needs would not fit in the memory available; nothing was
    /// allocated. `what` names the array and the sizes that make it.
    #[error("{what} need {bytes} bytes ({}), more than the {} of memory available", crate::memory::human(*.bytes), crate::memory::human(u128::from(*.available)))]
    TooLarge {
        /// The array, with the sizes that make it (e.g. "the measurements of a
        /// 100000×100000 J (m × k = 100000 × 100000 values)").
        what: String,
        /// Outputs of `J`.
        m: usize,
        /// Inputs of `J`.
        n: usize,
        /// Bytes the array needs.
        bytes: u128,
        /// Bytes available when it was checked.
        available: u64,
    },
    /// A saved scheme or plan could not be loaded: not one, another format version, a
    /// damaged file, or data that do not make a valid plan.
    #[error("saved plan: {0}")]
    Saved(String),
    /// A size given in the input (a dimension, a number of directions, a count in a
    /// file's header) is beyond a fixed limit of jacsense, whatever the memory
    /// ([`MAX_DIMENSION`](crate::MAX_DIMENSION) rows or columns): refused before
    /// anything is allocated.
    #[error("too large: {what} = {size} exceeds the limit of {limit}")]
    OverLimit {
        /// What was counted, naming the values it came from.
        what: String,
        /// The size asked for (wide enough for a product that overflows `usize`).
        size: u128,
        /// The limit.
        limit: usize,
    },
    /// Reading or writing a file failed.
    #[error("I/O error: {0}")]
    Io(String),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// Result with the jacsense [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
