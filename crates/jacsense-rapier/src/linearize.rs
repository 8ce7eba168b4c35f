//! `A` and `B` from a jacsense estimate of `J = [A B]`.

use jacsense::{Estimate, Settings, Structure};

use crate::dynamics::Dynamics;
use crate::error::Result;

/// The linearization `x' ≈ x0' + A (x − x0) + B (u − u0)` at one point, with the
/// estimate it came from (its status, calls and diagnostics).
pub struct Linearization {
    /// `A = ∂x'/∂x` (`nx × nx`).
    pub a: faer::Mat<f64>,
    /// `B = ∂x'/∂u` (`nx × nu`).
    pub b: faer::Mat<f64>,
    /// The estimate of `[A B]`.
    pub estimate: Estimate,
}

impl Linearization {
    /// Splits an estimate of `[A B]` (`nx × (nx + nu)`) into `A` and `B`.
    pub fn from_estimate(estimate: Estimate, nx: usize) -> Linearization {
        let j = estimate.dense();
        let (a, b) = split(&j, nx);
        Linearization { a, b, estimate }
    }
}

/// `[A B] → (A, B)`, splitting after column `nx`.
pub fn split(j: &faer::Mat<f64>, nx: usize) -> (faer::Mat<f64>, faer::Mat<f64>) {
    let nx = nx.min(j.ncols());
    let a = faer::Mat::from_fn(j.nrows(), nx, |r, c| j[(r, c)]);
    let b = faer::Mat::from_fn(j.nrows(), j.ncols() - nx, |r, c| j[(r, nx + c)]);
    (a, b)
}

impl Dynamics {
    /// `A` and `B` at the snapshot (`x0`, `u0`), sensed by jacsense with the given
    /// structure (usually [`Dynamics::structure`]) and settings; calls run in parallel.
    ///
    /// ```
    /// use jacsense::Settings;
    /// use jacsense_rapier::scenes;
    /// let d = scenes::double_pendulums(20)?;
    /// let lin = d.linearize(&d.structure()?, &Settings::default())?;
    /// assert_eq!((lin.a.nrows(), lin.a.ncols(), lin.b.ncols()), (80, 80, 40));
    /// assert!(lin.estimate.diagnostics().calls <= 12); // not 121
    /// # Ok::<(), jacsense_rapier::Error>(())
    /// ```
    pub fn linearize(&self, structure: &Structure, settings: &Settings) -> Result<Linearization> {
        let est = jacsense::jacobian_with(self, &self.point(), structure, settings)?;
        Ok(Linearization::from_estimate(est, self.nx()))
    }
}
