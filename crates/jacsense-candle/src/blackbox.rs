//! The blackbox of a layer: `y = g(x; θ)`, called on whole batches of points.
//!
//! Backpropagation through a batch makes many calls at once (every sample's points of
//! one backward pass), so the blackbox receives them together, to run them in
//! parallel, on an accelerator, or as one job on a cluster. Each call may fail on its
//! own: a failed call is an erasure for the decode (DESIGN.md §4), not an error.

use std::panic::{AssertUnwindSafe, catch_unwind};

use jacsense::CallError;
use rayon::prelude::*;

/// The sizes of a layer `y = g(x; θ)`: `x ∈ Rⁿ` (per sample), `θ ∈ Rᵖ` (the layer's
/// own trained parameters, shared by every sample), `y ∈ Rᵐ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerDims {
    /// `n`: inputs per sample.
    pub inputs: usize,
    /// `p`: parameters held by the blackbox (0 for none).
    pub parameters: usize,
    /// `m`: outputs per sample.
    pub outputs: usize,
}

impl LayerDims {
    /// The length of one point, `(x, θ)`: `n + p`.
    pub fn point_len(&self) -> usize {
        self.inputs + self.parameters
    }
}

/// A blackbox layer's function, evaluated on batches of points.
///
/// A point is `(x, θ)`, `n + p` numbers; `points` holds `count` of them one after the
/// other and `values` has room for `count × m` outputs, in the same order. The answer
/// says, per call, whether it succeeded: a failed call (or one that writes a NaN or
/// infinite value) is left out of the decode and reported, never a crash.
///
/// ```
/// use jacsense::CallError;
/// use jacsense_candle::{BatchBlackbox, LayerDims};
/// /// y = tanh(x) elementwise, for 3 inputs.
/// struct Tanh;
/// impl BatchBlackbox for Tanh {
///     fn dims(&self) -> LayerDims { LayerDims { inputs: 3, parameters: 0, outputs: 3 } }
///     fn call_batch(&self, points: &[f64], values: &mut [f64]) -> Vec<Result<(), CallError>> {
///         values.iter_mut().zip(points).for_each(|(y, x)| *y = x.tanh());
///         vec![Ok(()); points.len() / 3]
///     }
/// }
/// let mut y = [0.0; 6];
/// assert!(Tanh.call_batch(&[0.0, 1.0, 2.0, 0.0, 0.0, 0.0], &mut y).iter().all(Result::is_ok));
/// assert_eq!(y[1], 1f64.tanh());
/// ```
pub trait BatchBlackbox: Send + Sync {
    /// The layer's sizes.
    fn dims(&self) -> LayerDims;

    /// Evaluates every point of `points` into `values` (module docs), one result per
    /// point.
    fn call_batch(&self, points: &[f64], values: &mut [f64]) -> Vec<Result<(), CallError>>;

    /// The forward pass's calls: by default [`call_batch`](Self::call_batch). Override it
    /// when the forward evaluation differs from the calls made for derivatives (a
    /// tighter solver tolerance, another machine).
    fn forward_batch(&self, points: &[f64], values: &mut [f64]) -> Vec<Result<(), CallError>> {
        self.call_batch(points, values)
    }
}

impl<B: BatchBlackbox + ?Sized> BatchBlackbox for std::sync::Arc<B> {
    fn dims(&self) -> LayerDims {
        (**self).dims()
    }
    fn call_batch(&self, points: &[f64], values: &mut [f64]) -> Vec<Result<(), CallError>> {
        (**self).call_batch(points, values)
    }
    fn forward_batch(&self, points: &[f64], values: &mut [f64]) -> Vec<Result<(), CallError>> {
        (**self).forward_batch(points, values)
    }
}

/// A [`BatchBlackbox`] from a function of one point, called on the points of a batch in
/// parallel (rayon); see [`pointwise`].
#[derive(Clone, Copy, Debug)]
pub struct Pointwise<F> {
    dims: LayerDims,
    f: F,
}

/// Wraps `f(point, y)`, which writes `g(x; θ)` into `y` for one point `(x, θ)`, or says
/// why it cannot. A panic in `f` fails that call alone.
///
/// ```
/// use jacsense_candle::{pointwise, BatchBlackbox, LayerDims};
/// // y = θ·x elementwise: 2 inputs, 1 parameter.
/// let g = pointwise(LayerDims { inputs: 2, parameters: 1, outputs: 2 }, |p: &[f64], y: &mut [f64]| {
///     y[0] = p[2] * p[0];
///     y[1] = p[2] * p[1];
///     Ok(())
/// });
/// let mut y = [0.0; 2];
/// g.call_batch(&[1.0, 2.0, 3.0], &mut y);
/// assert_eq!(y, [3.0, 6.0]);
/// ```
pub fn pointwise<F>(dims: LayerDims, f: F) -> Pointwise<F>
where
    F: Fn(&[f64], &mut [f64]) -> Result<(), CallError> + Send + Sync,
{
    Pointwise { dims, f }
}

impl<F> BatchBlackbox for Pointwise<F>
where
    F: Fn(&[f64], &mut [f64]) -> Result<(), CallError> + Send + Sync,
{
    fn dims(&self) -> LayerDims {
        self.dims
    }

    fn call_batch(&self, points: &[f64], values: &mut [f64]) -> Vec<Result<(), CallError>> {
        let (len, m) = (self.dims.point_len().max(1), self.dims.outputs.max(1));
        points
            .par_chunks(len)
            .zip(values.par_chunks_mut(m))
            .map(|(x, y)| match catch_unwind(AssertUnwindSafe(|| (self.f)(x, y))) {
                Ok(result) => result,
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic without a message".into());
                    Err(CallError(format!("panicked: {message}")))
                }
            })
            .collect()
    }
}
