//! What can stop a command, and the exit code each one gives.
//!
//! How an estimate went (erasures, outliers, undetermined rows) is not a failure: it is
//! reported in the summary and the `--report` file, and an incomplete estimate exits
//! with [`EXIT_INCOMPLETE`] after writing what it has.

use thiserror::Error;

/// Success: every row of `J` (every entry of `w`) was determined.
pub const EXIT_OK: u8 = 0;
/// Bad input: command-line options, files, numbers, or a program that cannot be started.
pub const EXIT_INPUT: u8 = 1;
/// The blackbox failed: more calls failed in a row than `--max-failures`, or the call at
/// `x0` that tells `m` failed.
pub const EXIT_BLACKBOX: u8 = 2;
/// The estimate was written but is incomplete: some rows (entries of `w`) are
/// undetermined (NaN), e.g. after too many erasures.
pub const EXIT_INCOMPLETE: u8 = 3;
/// Interrupted (Ctrl-C): the workers were stopped and nothing was written.
pub const EXIT_INTERRUPTED: u8 = 130;

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
