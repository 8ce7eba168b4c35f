//! Structure: what the user knows about `J` before any call (DESIGN.md §2).
//!
//! The sparsity pattern: each allowed entry is its own unknown, and rows decode
//! independently. Symmetry, tied and known entries and row relations compile into the
//! affine parametrization `vec(J) = P z + c` ([`Parametrization`]), which
//! the joint decoders build on.

mod affine;
mod equations;

pub use affine::{Coupling, EntryTerms, Parametrization, Relation};
pub(crate) use equations::{JointSystem, NormalEquations, substitute, system};

use crate::error::{Error, Result};
use crate::pattern::Pattern;

/// Prior knowledge about the Jacobian `J` (m × n).
///
/// ```
/// use jacsense::{Pattern, Structure};
/// let s = Structure::sparse(Pattern::banded(100, 100, 1, 1));
/// assert_eq!(s.dims(), (100, 100));
/// assert_eq!(s.intrinsic_dimension(), 298);
/// assert_eq!(s.lower_bound(), 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Structure {
    pattern: Pattern,
    row_sparsity: Option<usize>,
    symmetric: bool,
    /// What `with_coupling` was given (kept to save the structure).
    coupling: Option<Coupling>,
    parametrization: Option<Parametrization>,
}

impl Structure {
    /// Nothing is known: every entry of the `m × n` Jacobian is an unknown.
    pub fn dense(m: usize, n: usize) -> Self {
        Structure {
            pattern: Pattern::dense(m, n),
            row_sparsity: None,
            symmetric: false,
            coupling: None,
            parametrization: None,
        }
    }

    /// `J` may be nonzero only where `pattern` allows.
    pub fn sparse(pattern: Pattern) -> Self {
        Structure { pattern, row_sparsity: None, symmetric: false, coupling: None, parametrization: None }
    }

    /// `J = Jᵀ` (a Hessian from a gradient blackbox, the Jacobian of a potential's
    /// gradient) on `pattern`, made symmetric. Star-colored designs need it; the other
    /// designs decode rows on their own and stay exact.
    ///
    /// ```
    /// use jacsense::{Pattern, Structure};
    /// let s = Structure::symmetric(Pattern::banded(4, 4, 1, 0))?; // lower bidiagonal given
    /// assert_eq!(s.pattern(), &Pattern::banded(4, 4, 1, 1));
    /// assert!(s.is_symmetric());
    /// assert!(Structure::symmetric(Pattern::dense(2, 3)).is_err());
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn symmetric(pattern: Pattern) -> Result<Self> {
        if pattern.nrows() != pattern.ncols() {
            return Err(Error::InvalidStructure(format!(
                "a symmetric J must be square, this pattern is {}×{}",
                pattern.nrows(),
                pattern.ncols()
            )));
        }
        if pattern.is_dense() {
            return Ok(Structure {
                pattern,
                row_sparsity: None,
                symmetric: true,
                coupling: None,
                parametrization: None,
            });
        }
        let mut entries: Vec<(usize, usize)> = pattern.entries().collect();
        entries.extend(pattern.entries().map(|(i, j)| (j, i)));
        let pattern = Pattern::from_triplets(pattern.nrows(), pattern.ncols(), &entries)?;
        Ok(Structure { pattern, row_sparsity: None, symmetric: true, coupling: None, parametrization: None })
    }

    /// Whether `J = Jᵀ` was declared.
    pub fn is_symmetric(&self) -> bool {
        self.symmetric
    }

    /// Whether symmetry may save calls over a column coloring: declared, and the
    /// pattern not dense. A dense symmetric `J` needs `n` directions whatever the design
    /// or decoder — `H = v vᵀ` with `v` orthogonal to fewer directions is symmetric and
    /// unseen by all of them — and its column coloring already has `n` colors, so a
    /// star coloring or a joint rank trial (both superlinear in `n`) can only tie.
    pub(crate) fn symmetry_may_help(&self) -> bool {
        self.symmetric && !self.pattern.is_dense()
    }

    /// Declares that every row has at most `s` nonzeros among its allowed entries, at
    /// places nobody knows (the pattern is unknown, or a loose superset). A design
    /// that decodes rows by sparse recovery then needs about `2 s ln(ρ/s)` calls per row
    /// instead of `ρ`.
    ///
    /// ```
    /// use jacsense::Structure;
    /// let s = Structure::dense(100, 1000).with_row_sparsity(5);
    /// assert_eq!(s.row_sparsity(), Some(5));
    /// assert_eq!(s.lower_bound(), 1000); // for row-wise decoding without sparsity
    /// ```
    pub fn with_row_sparsity(mut self, s: usize) -> Self {
        self.row_sparsity = Some(s);
        self
    }

    /// The declared bound on nonzeros per row, if any.
    pub fn row_sparsity(&self) -> Option<usize> {
        self.row_sparsity
    }

    /// `(n, m)`: inputs and outputs, in the order of [`Blackbox::dims`](crate::Blackbox::dims).
    pub fn dims(&self) -> (usize, usize) {
        (self.pattern.ncols(), self.pattern.nrows())
    }

    /// The sparsity pattern (m × n).
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The number of unknowns `d`.
    pub fn intrinsic_dimension(&self) -> usize {
        self.parametrization.as_ref().map_or(self.pattern.nnz(), Parametrization::intrinsic_dimension)
    }

    /// Adds what is known beyond the pattern — symmetry, tied and known entries, row
    /// relations — compiled into `vec(J) = P z + c`. Every design then decodes all rows
    /// jointly through it (the rows share unknowns): by least squares, by L1 when
    /// outliers are expected, or by substitution
    /// ([`DecoderChoice::Substitution`](crate::DecoderChoice::Substitution)).
    ///
    /// ```
    /// use jacsense::Coupling;
    /// use jacsense::{Pattern, Structure};
    /// // A 1D convolution: every diagonal of the band is one unknown.
    /// let n: usize = 100;
    /// let ties = (0..3usize)
    ///     .map(|o| (0..n).filter_map(|i| (i + o).checked_sub(1).filter(|&j| j < n).map(|j| (i, j, 1.0))).collect())
    ///     .collect();
    /// let s = Structure::sparse(Pattern::banded(n, n, 1, 1)).with_coupling(Coupling { ties, ..Coupling::default() })?;
    /// assert_eq!(s.intrinsic_dimension(), 3);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn with_coupling(mut self, mut coupling: Coupling) -> Result<Self> {
        coupling.symmetric |= self.symmetric;
        let p = Parametrization::new(&self.pattern, &coupling)?;
        self.pattern = p.pattern().clone();
        self.symmetric = coupling.symmetric;
        self.coupling = Some(coupling);
        self.parametrization = Some(p);
        Ok(self)
    }

    /// What [`Structure::with_coupling`] was given, if anything.
    pub fn coupling(&self) -> Option<&Coupling> {
        self.coupling.as_ref()
    }

    /// The parametrization `vec(J) = P z + c`, when [`Structure::with_coupling`] gave one.
    pub fn parametrization(&self) -> Option<&Parametrization> {
        self.parametrization.as_ref()
    }

    /// The largest number of unknowns in one row (`ρ_max`): no design whose rows decode
    /// independently can determine every row with fewer measurements.
    pub fn lower_bound(&self) -> usize {
        match &self.parametrization {
            None => self.pattern.max_row_count(),
            Some(p) => p.lower_bound(),
        }
    }

    /// The error for a design with `calls` measurements where `needed` are required,
    /// naming the fullest row (the first with `ρ_max` unknowns).
    pub(crate) fn too_few_calls(&self, calls: usize, needed: usize) -> Error {
        let rho = self.lower_bound();
        let row = (0..self.pattern.nrows()).find(|&i| self.pattern.row_count(i) == rho).unwrap_or(0);
        Error::TooFewCalls { row, unknowns: rho, calls, needed }
    }

    /// Checks that the structure fits a blackbox with `n` inputs and `m` outputs.
    pub(crate) fn check_dims(&self, n: usize, m: usize) -> Result<()> {
        if self.pattern.ncols() != n {
            return Err(Error::DimensionMismatch {
                what: "pattern columns (blackbox inputs n)",
                expected: n,
                found: self.pattern.ncols(),
            });
        }
        if self.pattern.nrows() != m {
            return Err(Error::DimensionMismatch {
                what: "pattern rows (blackbox outputs m)",
                expected: m,
                found: self.pattern.nrows(),
            });
        }
        Ok(())
    }
}

impl From<Pattern> for Structure {
    fn from(pattern: Pattern) -> Self {
        Structure::sparse(pattern)
    }
}
