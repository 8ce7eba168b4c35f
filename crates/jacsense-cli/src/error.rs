//! What can stop a command, and the exit code each one gives.
//!
//! How an estimate went (erasures, outliers, its [`Status`]) is not a failure: it is
//! reported in the summary and the `--report` file, everything asked for is written,
//! and the exit code says the status ([`status_exit_code`]): a script can tell a
//! Jacobian to use from one to look at.

use jacsense::{RowStatus, Status};
use thiserror::Error;

/// Success: every row of `J` (every entry of `w`) was determined, well conditioned and
/// converged — checked by redundant calls, or unverified when no outliers were
/// expected (the summary then says so).
pub const EXIT_OK: u8 = 0;
/// Bad input: command-line options, files, numbers, or a program that cannot be started.
pub const EXIT_INPUT: u8 = 1;
/// The blackbox failed: more calls failed in a row than `--max-failures`, or the call at
/// `x0` that tells `m` failed.
pub const EXIT_BLACKBOX: u8 = 2;
/// The estimate was written but is incomplete: some rows (entries of `w`) are
/// undetermined (NaN), e.g. after too many erasures.
pub const EXIT_INCOMPLETE: u8 = 3;
/// The estimate was written, but an iterative solver (L1, basis pursuit) stopped at a
/// limit before its optimum on some rows: outliers may have been misjudged.
pub const EXIT_SOLVER_LIMIT: u8 = 4;
/// The estimate was written, but some rows are ill-conditioned: their condition number
/// implies an error beyond `--condition-tolerance`.
pub const EXIT_ILL_CONDITIONED: u8 = 5;
/// The estimate was written, outliers were expected (`--outliers P`), but some rows had
/// no redundancy left to find them (e.g. after erasures). Without `--outliers`, an
/// unverified estimate exits with 0 and a warning: a script that does not expect
/// garbage calls still gets its Jacobian.
pub const EXIT_UNVERIFIED: u8 = 6;
/// `tell`: the session asks for another round; its points were written beside the
/// first round's (`points-R.txt`), and nothing was decoded yet.
pub const EXIT_MORE_CALLS: u8 = 7;
/// Interrupted (Ctrl-C): the workers were stopped and nothing was written.
pub const EXIT_INTERRUPTED: u8 = 130;

/// The exit code of an estimate with `status`: 0 solved, 3 incomplete, 4 solver limit,
/// 5 ill-conditioned, 6 unverified when outliers were expected (0 otherwise).
pub fn status_exit_code(status: &Status, outliers_expected: bool) -> u8 {
    match status {
        Status::Solved => EXIT_OK,
        Status::Unverified { .. } if outliers_expected => EXIT_UNVERIFIED,
        Status::Unverified { .. } => EXIT_OK,
        Status::IllConditioned { .. } => EXIT_ILL_CONDITIONED,
        Status::SolverLimit { .. } => EXIT_SOLVER_LIMIT,
        _ => EXIT_INCOMPLETE,
    }
}

/// The exit code of a single decoded vector (`vjp`'s `w`) with `status`, as
/// [`status_exit_code`].
pub fn row_exit_code(status: &RowStatus, outliers_expected: bool) -> u8 {
    match status {
        RowStatus::Determined => EXIT_OK,
        RowStatus::Unverified if outliers_expected => EXIT_UNVERIFIED,
        RowStatus::Unverified => EXIT_OK,
        RowStatus::IllConditioned { .. } => EXIT_ILL_CONDITIONED,
        RowStatus::SolverLimit(_) => EXIT_SOLVER_LIMIT,
        _ => EXIT_INCOMPLETE,
    }
}

/// Why a command stopped.
#[derive(Debug, Error)]
pub enum Failure {
    /// Bad input; the message names the option or the file, line and value at fault.
    #[error("{0}")]
    Input(String),
    /// The blackbox failed too often to go on.
    #[error("{0}")]
    Blackbox(String),
    /// Ctrl-C.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Input(_) => EXIT_INPUT,
            Failure::Blackbox(_) => EXIT_BLACKBOX,
            Failure::Interrupted(_) => EXIT_INTERRUPTED,
        }
    }
}

impl From<jacsense::Error> for Failure {
    fn from(e: jacsense::Error) -> Self {
        Failure::Input(e.to_string())
    }
}

/// `Err(Failure::Input(..))` from a formatted message.
#[macro_export]
macro_rules! input_error {
    ($($arg:tt)*) => {
        $crate::error::Failure::Input(format!($($arg)*))
    };
}
