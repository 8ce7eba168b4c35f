//! What can go wrong when a rapier world is wrapped as a blackbox.

use thiserror::Error;

/// Errors of the rapier integration: a world it cannot linearize, inputs of the wrong
/// size, or an error of the core library.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The world holds something the state layout does not cover.
    #[error("unsupported world: {0}")]
    Unsupported(String),
    /// A control names a body or joint the world does not have, or of the wrong kind.
    #[error("control {index}: {reason}")]
    InvalidControl {
        /// Index of the control in the list given.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A vector of the wrong length.
    #[error("{what} has length {found}, expected {expected}")]
    DimensionMismatch {
        /// Which vector.
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        found: usize,
    },
    /// A state or control with a NaN or infinite entry.
    #[error("{what}[{index}] = {value} is not finite")]
    NonFinite {
        /// Which vector.
        what: &'static str,
        /// The offending index.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// The simulator produced a non-finite state (it blew up).
    #[error("the step produced a non-finite state: entry {index} ({entry}) is {value}")]
    Diverged {
        /// Index of the first non-finite entry of `x'`.
        index: usize,
        /// What that entry is.
        entry: String,
        /// Its value.
        value: f64,
    },
    /// An invalid setting (number of steps, …).
    #[error("invalid setting {name} = {value}: {reason}")]
    InvalidSetting {
        /// The setting's name.
        name: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An error of the core library.
    #[error(transparent)]
    Core(#[from] jacsense::Error),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn check_finite(what: &'static str, v: &[f64]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(Error::NonFinite { what, index, value: v[index] }),
        None => Ok(()),
    }
}

pub(crate) fn check_len(what: &'static str, v: &[f64], expected: usize) -> Result<()> {
    if v.len() != expected {
        return Err(Error::DimensionMismatch { what, expected, found: v.len() });
    }
    Ok(())
}
