//! The blackbox: a function `f: Rⁿ → Rᵐ` that can be called but not differentiated.
//!
//! A call that returns an error, panics, or writes a non-finite value is an *erasure*:
//! it is recorded with its reason and dropped from decoding, never a crash.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Why a call failed, as told by the blackbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallError(pub String);

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CallError {}

/// A function `f: Rⁿ → Rᵐ` evaluated into a caller-provided buffer.
///
/// Implement it for your own types, or wrap a closure with [`from_fn`] or
/// [`try_from_fn`]. The library evaluates a batch of calls in parallel when the
/// blackbox is `Sync` ([`jacobian`](crate::jacobian)), sequentially otherwise
/// ([`jacobian_sequential`](crate::jacobian_sequential)).
///
/// ```
/// use jacsense::{Blackbox, CallError};
/// struct Square;
/// impl Blackbox for Square {
///     fn dims(&self) -> (usize, usize) { (2, 2) }
///     fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
///         y[0] = x[0] * x[0];
///         y[1] = x[0] * x[1];
///         Ok(())
///     }
/// }
/// let mut y = [0.0; 2];
/// Square.call(&[3.0, 2.0], &mut y)?;
/// assert_eq!(y, [9.0, 6.0]);
/// # Ok::<(), CallError>(())
/// ```
pub trait Blackbox {
    /// `(n, m)`: the number of inputs and of outputs.
    fn dims(&self) -> (usize, usize);

    /// Writes `f(x)` into `y` (`x.len() == n`, `y.len() == m`; `y` holds stale values
    /// on entry).
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError>;
}

impl<B: Blackbox + ?Sized> Blackbox for &B {
    fn dims(&self) -> (usize, usize) {
        (**self).dims()
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        (**self).call(x, y)
    }
}

/// A blackbox from an infallible closure; see [`from_fn`].
#[derive(Clone, Copy)]
pub struct FnBlackbox<F> {
    n: usize,
    m: usize,
    f: F,
}

/// Wraps a closure `f(x, y)` that writes `f(x)` into `y`.
///
/// ```
/// use jacsense::{from_fn, Blackbox};
/// let f = from_fn(2, 1, |x: &[f64], y: &mut [f64]| y[0] = x[0] * x[1]);
/// assert_eq!(f.dims(), (2, 1));
/// ```
pub fn from_fn<F: Fn(&[f64], &mut [f64])>(n: usize, m: usize, f: F) -> FnBlackbox<F> {
    FnBlackbox { n, m, f }
}

impl<F: Fn(&[f64], &mut [f64])> Blackbox for FnBlackbox<F> {
    fn dims(&self) -> (usize, usize) {
        (self.n, self.m)
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        (self.f)(x, y);
        Ok(())
    }
}

/// A blackbox from a fallible closure; see [`try_from_fn`].
#[derive(Clone, Copy)]
pub struct TryFnBlackbox<F> {
    n: usize,
    m: usize,
    f: F,
}

/// Wraps a closure `f(x, y) -> Result<(), E>`; an `Err` makes that call an erasure
/// whose reason is the error's message.
///
/// ```
/// use jacsense::{try_from_fn, Blackbox};
/// let f = try_from_fn(1, 1, |x: &[f64], y: &mut [f64]| {
///     if x[0] < 0.0 { return Err("negative input"); }
///     y[0] = x[0].sqrt();
///     Ok(())
/// });
/// let mut y = [0.0];
/// assert!(f.call(&[-1.0], &mut y).is_err());
/// ```
pub fn try_from_fn<E, F>(n: usize, m: usize, f: F) -> TryFnBlackbox<F>
where
    E: fmt::Display,
    F: Fn(&[f64], &mut [f64]) -> Result<(), E>,
{
    TryFnBlackbox { n, m, f }
}

impl<E: fmt::Display, F: Fn(&[f64], &mut [f64]) -> Result<(), E>> Blackbox for TryFnBlackbox<F> {
    fn dims(&self) -> (usize, usize) {
        (self.n, self.m)
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        (self.f)(x, y).map_err(|e| CallError(e.to_string()))
    }
}

/// Why a call was dropped from decoding.
#[derive(Clone, Debug, PartialEq)]
pub enum ErasureReason {
    /// The blackbox returned an error.
    Failed(String),
    /// The blackbox panicked (the panic message).
    Panicked(String),
    /// Output `output` was NaN or infinite.
    NonFinite {
        /// Index of the first non-finite output.
        output: usize,
        /// Its value.
        value: f64,
    },
    /// The value was never told (ask/tell), or was told as missing.
    Missing,
}

impl fmt::Display for ErasureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErasureReason::Failed(msg) => write!(f, "the blackbox failed: {msg}"),
            ErasureReason::Panicked(msg) => write!(f, "the blackbox panicked: {msg}"),
            ErasureReason::NonFinite { output, value } => write!(f, "output {output} is {value}"),
            ErasureReason::Missing => f.write_str("no value was told"),
        }
    }
}

/// A call dropped from decoding, with its index in the plan and its reason.
#[derive(Clone, Debug, PartialEq)]
pub struct Erasure {
    /// Index of the call in the [`Plan`](crate::Plan).
    pub call: usize,
    /// Why it was dropped.
    pub reason: ErasureReason,
}

/// Calls `f` once, turning an error, a panic or a non-finite output into the reason for
/// an erasure.
pub(crate) fn call_guarded<B: Blackbox + ?Sized>(f: &B, x: &[f64], y: &mut [f64]) -> Result<(), ErasureReason> {
    match catch_unwind(AssertUnwindSafe(|| f.call(x, y))) {
        Ok(Ok(())) => first_non_finite(y),
        Ok(Err(e)) => Err(ErasureReason::Failed(e.0)),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_string());
            Err(ErasureReason::Panicked(msg))
        }
    }
}

pub(crate) fn first_non_finite(y: &[f64]) -> Result<(), ErasureReason> {
    match y.iter().position(|v| !v.is_finite()) {
        Some(output) => Err(ErasureReason::NonFinite { output, value: y[output] }),
        None => Ok(()),
    }
}
