//! The estimate: `J` (sparse or dense) and the diagnostics of how it was obtained.

use crate::blackbox::Erasure;
use crate::coloring::Ordering;
#[cfg(doc)]
use crate::decode::RowStatus;
use crate::decode::{Decoded, DecodedBy, Decoder, Outlier, RowReport, Using, decode};
use crate::design::Design;
use crate::error::Result;
use crate::measurements::Measurements;
use crate::pattern::SparseMatrix;
use crate::settings::DecoderChoice;
use crate::status::Status;

/// How an estimate was obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostics {
    /// The design, as the planner resolved it (`design.name()` for tables).
    pub design: Design,
    /// The decoder that decoded (`decoder.name()` for tables).
    pub decoder: DecodedBy,
    /// Calls of the blackbox made (including failed ones).
    pub calls: usize,
    /// Measurements (directions) of the plan.
    pub measurements: usize,
    /// Measurements whose calls all succeeded.
    pub valid_measurements: usize,
    /// For a colored design: the ordering and the number of colors.
    pub colors: Option<(Ordering, usize)>,
    /// Calls dropped from decoding, with their reasons.
    pub erasures: Vec<Erasure>,
    /// Calls judged grossly wrong by the decoder (for central differences both calls
    /// of a wrong measurement are listed).
    pub outliers: Vec<Outlier>,
    /// Estimated standard deviation of the noise on the outputs of `f`, pooled over
    /// rows, when the design has redundancy: relative to `max(1, |f_i|)`, as
    /// [`Settings::noise`](crate::Settings::noise) is (each row's own, absolute, is in
    /// its report).
    pub noise: Option<f64>,
    /// One report per row of `J`, with the row's status.
    pub rows: Vec<RowReport>,
    /// `f(x0)`, when the design called it (forward differences).
    pub f0: Option<Vec<f64>>,
    /// The rounds of the session that made the estimate, in order: what each called,
    /// why, and what it showed ([`Session`](crate::Session)). Empty for an estimate
    /// decoded from one plan's measurements.
    pub rounds: Vec<crate::session::Round>,
}

/// An estimate of the Jacobian with its diagnostics.
///
/// ```
/// use jacsense::{jacobian, from_fn};
/// let f = from_fn(2, 2, |x: &[f64], y: &mut [f64]| {
///     y[0] = x[0] * x[1];
///     y[1] = x[0].sin();
/// });
/// let est = jacobian(&f, &[1.0, 2.0])?;
/// assert!(est.is_complete());
/// let j = est.dense();
/// assert!((j[(0, 0)] - 2.0).abs() < 1e-6 && (j[(1, 0)] - 1f64.cos()).abs() < 1e-6);
/// // Told nothing: a dense 2 × 2 J costs at most n + ⌈0.05 n⌉ + 3 calls, the redundant
/// // ones checking the result.
/// assert!(est.diagnostics().calls <= 6 && est.status().is_solved());
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    jacobian: SparseMatrix,
    std_errors: Option<Vec<f64>>,
    diagnostics: Diagnostics,
}

impl Estimate {
    /// The estimate of a decode: `J`, its standard errors, and the diagnostics, which
    /// add to the decoder's reports what the measurements know (calls, erasures,
    /// `f(x0)`) and what the plan knows (design, colors).
    fn assemble(meas: &Measurements<'_>, decoded: Decoded) -> Self {
        let plan = meas.plan();
        let Decoded { jacobian, std_errors, mut rows, outliers, noise, valid_measurements, decoder } = decoded;
        crate::status::judge_rows(plan, &mut rows);
        let diagnostics = Diagnostics {
            design: plan.settings().design.clone(),
            decoder,
            calls: meas.calls_made(),
            measurements: plan.measurements(),
            valid_measurements,
            colors: plan.coloring().map(|(o, c)| (o, c.num_colors())),
            erasures: meas.erasures(),
            outliers,
            noise,
            rows,
            f0: meas.f0().map(<[f64]>::to_vec),
            rounds: Vec::new(),
        };
        Estimate { jacobian, std_errors, diagnostics }
    }

    /// An estimate made by a session from its own decode.
    pub(crate) fn from_parts(jacobian: SparseMatrix, std_errors: Option<Vec<f64>>, diagnostics: Diagnostics) -> Self {
        Estimate { jacobian, std_errors, diagnostics }
    }

    /// The parts, to patch rows a session decoded again.
    pub(crate) fn parts_mut(&mut self) -> (&mut SparseMatrix, &mut Option<Vec<f64>>, &mut Diagnostics) {
        (&mut self.jacobian, &mut self.std_errors, &mut self.diagnostics)
    }

    /// Standard error of each entry of [`jacobian`](Self::jacobian) (aligned with its
    /// values), from the noise seen in the redundant measurements; `None` when the
    /// design had no redundancy. NaN for entries without an estimate. It covers the
    /// noise, not the truncation error of the step.
    ///
    /// ```
    /// use jacsense_problems::{random_matrix, random_pattern, LinearMap, Noisy, Problem};
    /// use jacsense::{jacobian_with, Settings, Structure};
    /// let a = random_matrix(random_pattern(50, 50, 3, 1), 2);
    /// let f = Noisy { inner: LinearMap { a: a.clone() }, sigma: 1e-6, seed: 3 };
    /// let settings = Settings { noise: 1e-6, ..Settings::default() }; // redundant calls
    /// let est = jacobian_with(&f, &f.x0(), &Structure::sparse(a.pattern().clone()), &settings)?;
    /// let se = est.std_errors().expect("redundancy gives error bars");
    /// assert!(se.iter().all(|s| *s > 0.0));
    /// assert!((est.diagnostics().noise.unwrap() / 1e-6 - 1.0).abs() < 0.5);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn std_errors(&self) -> Option<&[f64]> {
        self.std_errors.as_deref()
    }

    /// `J` as a sparse matrix on the structure's pattern (undetermined entries NaN).
    pub fn jacobian(&self) -> &SparseMatrix {
        &self.jacobian
    }

    /// `J` as a dense `m × n` matrix.
    pub fn dense(&self) -> faer::Mat<f64> {
        self.jacobian.to_dense()
    }

    /// How the estimate was obtained.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// Whether every row was determined (its status is not
    /// [`RowStatus::Underdetermined`]). A complete estimate may still be unverified,
    /// ill-conditioned or stopped at a solver limit: see [`Estimate::status`].
    pub fn is_complete(&self) -> bool {
        self.diagnostics.rows.iter().all(|r| r.status.is_determined())
    }

    /// Rows that were not determined.
    pub fn undetermined_rows(&self) -> Vec<usize> {
        (0..self.diagnostics.rows.len()).filter(|&i| !self.diagnostics.rows[i].status.is_determined()).collect()
    }

    /// How far the estimate can be trusted: the most severe status of its rows
    /// (incomplete > solver limit > ill-conditioned > unverified > solved), with the
    /// rows that have it; each row's own is in
    /// [`Diagnostics::rows`](Diagnostics::rows). See [`Status`].
    ///
    /// ```
    /// use jacsense_problems::{BroydenTridiagonal, Corrupted, Problem};
    /// use jacsense::{jacobian_with, Settings, Status, Structure};
    /// let p = BroydenTridiagonal { n: 30 };
    /// let structure = Structure::sparse(p.pattern());
    /// // A third of the calls garbage: the colored design reads them off, unseen.
    /// let bad = Corrupted { inner: p.clone(), fraction: 0.3, seed: 1, anchor: p.x0(), scale: 1.0 };
    /// let est = jacobian_with(&bad, &p.x0(), &structure, &Settings::default())?;
    /// assert_eq!(est.status().name(), "unverified");
    /// // Told to expect them, the planner buys redundancy and L1 decoding finds them.
    /// let est = jacobian_with(&bad, &p.x0(), &structure, &Settings { outliers: 0.3, ..Settings::default() })?;
    /// assert_eq!(est.status(), Status::Solved);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn status(&self) -> Status {
        Status::of_rows(&self.diagnostics.rows)
    }

    /// Takes the sparse Jacobian and the diagnostics apart.
    pub fn into_parts(self) -> (SparseMatrix, Diagnostics) {
        (self.jacobian, self.diagnostics)
    }
}

impl Measurements<'_> {
    /// Decodes with the plan's decoder: rows one by one (entries read off where the
    /// design allows), or jointly for a coupled structure.
    pub fn decode(&self) -> Estimate {
        Estimate::assemble(self, decode(self, Using::Plan).expect("the plan's own decoder fits its plan"))
    }

    /// Decodes every row with the given decoder, including rows the plan's decoder
    /// would read off directly.
    ///
    /// Errors: the plan is star-colored or its structure coupled
    /// ([`Structure::with_coupling`](crate::Structure::with_coupling)): their rows share
    /// unknowns, which a row decoder cannot solve; decode them with
    /// [`Measurements::decode`] and the plan's decoder.
    ///
    /// ```
    /// use jacsense::{from_fn, Pattern, Plan, Settings, Structure};
    /// use jacsense::decode::{LeastAbsoluteDeviations};
    /// let f = from_fn(3, 3, |x: &[f64], y: &mut [f64]| y.copy_from_slice(&[2.0 * x[0], 3.0 * x[1], x[2]]));
    /// let plan = Plan::new(&Structure::sparse(Pattern::banded(3, 3, 0, 0)), &[1.0; 3], &Settings::default())?;
    /// let est = plan.evaluate(&f)?.decode_with(&LeastAbsoluteDeviations::default())?;
    /// assert_eq!(est.diagnostics().decoder.name(), "l1");
    /// assert!((est.jacobian().get(1, 1) - 3.0).abs() < 1e-7);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn decode_with(&self, decoder: &dyn Decoder) -> Result<Estimate> {
        Ok(Estimate::assemble(self, decode(self, Using::Custom(decoder))?))
    }

    /// Decodes with a built-in decoder other than the plan's, on every row: for a
    /// coupled structure, jointly by least squares, L1 or substitution; `Auto` is the
    /// plan's decoder.
    ///
    /// Errors: a sparse decoder for a coupled structure, or any decoder but the plan's
    /// for a star-colored design.
    ///
    /// ```
    /// use jacsense_problems::{laplacian_2d, random_symmetric_matrix, GradientField, Problem};
    /// use jacsense::Coupling;
    /// use jacsense::{DecoderChoice, Plan, Settings, Structure};
    /// let g = GradientField { h: random_symmetric_matrix(laplacian_2d(10), 1) };
    /// let structure = Structure::symmetric(g.pattern())?.with_coupling(Coupling::default())?;
    /// let settings = Settings { decoder: DecoderChoice::Substitution, ..Settings::default() };
    /// let plan = Plan::new(&structure, &g.x0(), &settings)?;
    /// let meas = plan.evaluate(&g)?;
    /// assert_eq!(meas.decode().diagnostics().decoder.name(), "joint-substitution");
    /// let est = meas.decode_as(DecoderChoice::LeastSquares)?; // the same calls, all rows at once
    /// assert_eq!(est.diagnostics().decoder.name(), "joint-least-squares");
    /// assert!(jacsense_problems::relative_error(est.jacobian(), &g.jacobian(&g.x0())) < 1e-5);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn decode_as(&self, choice: DecoderChoice) -> Result<Estimate> {
        Ok(Estimate::assemble(self, decode(self, Using::Choice(choice))?))
    }
}
