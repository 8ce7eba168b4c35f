//! Per-step diagnostics of a blackbox layer's backward pass.

use jacsense::{Route, RowStatus};

/// What one backward pass of a [`BlackboxLayer`](crate::BlackboxLayer) did: calls,
/// failed and grossly wrong calls, and how far its `vᵀJ` can be trusted.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// The backward pass's number, from 0, counted by the layer.
    pub step: usize,
    /// Samples in the batch.
    pub samples: usize,
    /// The route the layer takes ([`Route::SenseJacobian`] or [`Route::Direct`]).
    pub route: Route,
    /// Calls of the blackbox made by the backward pass (the forward pass's are not
    /// counted: their values serve as `f(x0)`).
    pub calls: usize,
    /// Calls that failed or returned non-finite values (erasures).
    pub erasures: usize,
    /// Calls the decoder judged grossly wrong and left out (only robust decoders,
    /// declared with `outliers > 0`, judge).
    pub outliers: usize,
    /// The most severe row status over every sample (solved, unverified,
    /// ill-conditioned, solver limit, underdetermined: see [`RowStatus`]).
    pub worst_row: RowStatus,
    /// The samples whose `vᵀJ` has undetermined entries; when any, the backward pass
    /// returned an error and no gradient.
    pub undetermined: Vec<usize>,
}

impl StepReport {
    /// Calls per sample.
    pub fn calls_per_sample(&self) -> f64 {
        self.calls as f64 / self.samples.max(1) as f64
    }

    /// Whether every sample's `vᵀJ` was determined (the gradient was returned).
    pub fn determined(&self) -> bool {
        self.undetermined.is_empty()
    }
}

/// Severity of a row status: solved < unverified < ill-conditioned < solver limit <
/// underdetermined (the order of [`jacsense::Status`]).
pub(crate) fn severity(status: &RowStatus) -> u8 {
    match status {
        RowStatus::Determined => 0,
        RowStatus::Unverified => 1,
        RowStatus::IllConditioned { .. } => 2,
        RowStatus::SolverLimit(_) => 3,
        RowStatus::Underdetermined { .. } => 4,
        _ => 5,
    }
}
