//! `A` and `B` from a jacsense estimate of `J = [A B]`.

use jacsense::{Design, Estimate, Settings, Structure};

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

/// The settings this crate recommends for [`Dynamics::structure`]: a colored design
/// (Curtis–Powell–Reid on the derived pattern), forward differences. Every entry is
/// read off one call, as dense differences read it, so the error is theirs; the
/// integrator relation rows see the same calls again and make the estimate verified.
/// (`Design::Auto` makes the same choice when no noise or outliers are expected: a
/// coloring with no more colors than the random design needs directions.)
///
/// ```
/// let s = jacsense_rapier::settings();
/// assert_eq!(s.design.name(), "colored");
/// ```
pub fn settings() -> Settings {
    Settings { design: Design::Colored { ordering: None }, ..Settings::default() }
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
    /// use jacsense_rapier::{scenes, settings};
    /// let d = scenes::double_pendulums(20)?;
    /// let lin = d.linearize(&d.structure()?, &settings())?;
    /// assert_eq!((lin.a.nrows(), lin.a.ncols(), lin.b.ncols()), (80, 80, 40));
    /// assert_eq!(lin.estimate.diagnostics().calls, 7); // f(x0) + 6 colors, not 121
    /// assert!(lin.estimate.status().is_solved());
    /// # Ok::<(), jacsense_rapier::Error>(())
    /// ```
    pub fn linearize(&self, structure: &Structure, settings: &Settings) -> Result<Linearization> {
        let est = jacsense::jacobian_with(self, &self.point(), structure, settings)?;
        Ok(Linearization::from_estimate(est, self.nx()))
    }
}
