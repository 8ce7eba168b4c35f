//! Errors of blackbox layers.

/// What went wrong in a blackbox layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The core refused the structure or the settings (or a point): its message.
    #[error(transparent)]
    Jacsense(#[from] jacsense::Error),
    /// The declared structure does not fit the blackbox's sizes.
    #[error("{known} needs {what}, but the blackbox has {inputs} inputs and {outputs} outputs")]
    StructureMismatch {
        /// The declaration.
        known: &'static str,
        /// What it needs.
        what: &'static str,
        /// Inputs `n`.
        inputs: usize,
        /// Outputs `m`.
        outputs: usize,
    },
    /// The parameters given do not match the blackbox's `p`.
    #[error("the blackbox holds {expected} parameters, {found} were given")]
    ParameterCount {
        /// `p` of the blackbox.
        expected: usize,
        /// Parameters given.
        found: usize,
    },
    /// A parameter given is NaN or infinite.
    #[error("parameter θ[{index}] = {value} is not finite")]
    NonFiniteParameter {
        /// Its index.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// The blackbox answered a batch with another number of results than points.
    #[error("the blackbox answered a batch of {points} points with {results} results")]
    BatchAnswer {
        /// Points in the batch.
        points: usize,
        /// Results returned.
        results: usize,
    },
    /// A forward call failed, or returned a non-finite output: the layer has no value.
    #[error("the forward call of sample {sample} failed: {reason}")]
    ForwardFailed {
        /// The sample (row of the batch).
        sample: usize,
        /// Why.
        reason: String,
    },
    /// The backward pass could not determine `vᵀJ` of these samples; no gradient is
    /// returned, so the step cannot be applied. The layer's
    /// [`last_step`](crate::BlackboxLayer::last_step) has the diagnostics.
    #[error(
        "vᵀJ undetermined for {} of {samples} samples (first: sample {}), after {calls} calls with {erasures} erasures: the step is not applied",
        undetermined.len(),
        undetermined.first().copied().unwrap_or(0)
    )]
    Undetermined {
        /// The samples whose `vᵀJ` has undetermined entries.
        undetermined: Vec<usize>,
        /// Samples in the batch.
        samples: usize,
        /// Calls made in the backward pass.
        calls: usize,
        /// Calls that failed.
        erasures: usize,
    },
    /// A tensor given to the layer has the wrong shape or device.
    #[error("{0}")]
    Tensor(String),
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
