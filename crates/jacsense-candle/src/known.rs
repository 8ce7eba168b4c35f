//! What the user knows about a layer's Jacobian, in the words of neural nets, and the
//! core [`Structure`] it compiles to (DESIGN.md §2).
//!
//! The layer's input to jacsense is the point `(x, θ)`: the Jacobian is
//! `[∂y/∂x  ∂y/∂θ]`, `m × (n + p)`. What is declared here is the `∂y/∂x` part; the `p`
//! parameter columns are added to every row (every output may depend on every
//! parameter), untied, so a coloring gives each of them a color of its own: `χ + p`
//! calls per sample for a colored design.

use jacsense::{Coupling, Pattern, Structure};

use crate::blackbox::LayerDims;
use crate::error::{Error, Result};

/// What is known about `∂y/∂x`, the `m × n` Jacobian of a layer with respect to its
/// input.
///
/// ```
/// use jacsense_candle::{Known, LayerDims};
/// let dims = LayerDims { inputs: 8, parameters: 2, outputs: 8 };
/// let s = Known::Banded { lower: 2, upper: 2 }.structure(dims)?;
/// assert_eq!(s.dims(), (10, 8)); // (n + p, m)
/// assert_eq!(s.lower_bound(), 7); // 5 inputs and 2 parameters per output
/// # Ok::<(), jacsense_candle::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Known {
    /// Elementwise (`m = n`): `y_i` depends on `x_i` only — a diagonal Jacobian, one call
    /// per sample (plus one per parameter).
    Elementwise,
    /// Local: `y_i` depends on `x_j` for `i − lower ≤ j ≤ i + upper` only (a band; `m`
    /// and `n` may differ, the band follows the diagonal `j = i`).
    Banded {
        /// Inputs below the diagonal.
        lower: usize,
        /// Inputs above the diagonal.
        upper: usize,
    },
    /// Local on a given pattern (`m × n`): `y_i` depends on the inputs of row `i` only.
    Pattern(Pattern),
    /// Tied across positions (convolution-like, `m = n`): a band whose every diagonal
    /// is one unknown, `∂y_i/∂x_{i+o} = k_o` for every `i` — the Jacobian of a linear
    /// convolution with zero padding. The rows are decoded jointly.
    Tied {
        /// Inputs below the diagonal.
        lower: usize,
        /// Inputs above the diagonal.
        upper: usize,
    },
    /// Sparse at places nobody knows: every output depends on at most `nonzeros`
    /// inputs, which ones unknown (decoded by sparse recovery). Knowing nothing at all,
    /// not even a bound on the nonzeros, is [`Known::Nothing`].
    ///
    /// The planner's number of directions, `⌈2 s ln(n/s)⌉ + s`, recovers nearly every
    /// row, not every one: at `s = 2` about one row in 200–300 is left undetermined
    /// (measured on 64- to 256-wide layers), and the scheme, reused at every sample,
    /// leaves the same row undetermined at every sample, so no step is applied. Give
    /// such a layer more directions (`Design::Random { directions: Some(k), .. }` in
    /// the Jacobian settings; 28 left no row of 5120 undetermined at `n = 256`). At
    /// `s = 1` the rule's directions left none of 2560.
    RowSparse {
        /// The most inputs one output depends on.
        nonzeros: usize,
    },
    /// Every output depends on every input, and the entries are to be measured as such
    /// (`n` calls per sample at least, one scheme reused at every sample).
    Dense,
    /// Nothing is known, not even whether `J` is sparse: every sample of a backward
    /// pass runs a told-nothing adaptive session ([`jacsense::Session`] on a dense
    /// structure) at its point `(x_b, θ)`: rounds of random directions orthonormalised
    /// across rounds, every row recovered by sparse recovery and validated on calls
    /// held back from its fit, more rounds until every row validates. The samples'
    /// calls of each round go to the blackbox as one batch; samples that are done drop
    /// out.
    ///
    /// What it costs, per sample and step, with `N = n + p` columns:
    ///
    /// - calls: adaptive, at least the first round's 16 (or `N + ⌈0.05 N⌉ + 2` when
    ///   that is fewer), then half again per round (twice while no row validates)
    ///   until the rows validate; a dense `J` stops at
    ///   `N + ⌈0.05 N⌉ + 2` (least squares on a full orthonormal basis and 5% of
    ///   redundancy). Measured: 16 for one nonzero per row at `N = 128` (layer (c) of
    ///   the digits example: 12.5% of coordinate differences, where
    ///   [`Known::RowSparse`] with the bound makes 11), 24 for 3 nonzeros per row at
    ///   `N = 64`, 44 for a dense `J` at `N = 40`. The step's
    ///   [`StepReport`](crate::StepReport) counts them;
    /// - rounds: a backward pass waits for the slowest sample's rounds (one batch per
    ///   round);
    /// - decoding: nothing is shared across samples (each sample's rounds and
    ///   supports are decided at its point): a sparse recovery of every row of every sample, and
    ///   more calls than a declared structure needs. On the digits example's layer (c)
    ///   training took 1.2 times the CPU time of the declared row sparsity (21.5 s
    ///   against 18.4 s for 900 steps of 32 samples).
    ///
    /// The settings apply as in the core's sessions: adaptive rounds need the
    /// Jacobian settings' `Design::Auto` (another design is the planner's one-shot
    /// dense plan at every sample); `outliers > 0` decodes the rounds by robust sparse
    /// recovery; a `budget` caps each sample's calls (one that leaves no call for a
    /// measurement is refused when the layer is made). Rows a budget leaves open make
    /// the step undetermined (reported, not applied); a budget of `N` or more calls
    /// determines every row by least squares when it is spent, without validation.
    Nothing,
    /// Any structure of the core over `∂y/∂x` (`m × n`: pattern, ties, known entries,
    /// row sparsity); symmetry is for square Jacobians without parameters. Boxed: a
    /// structure is large beside the other declarations.
    Structure(Box<Structure>),
}

impl Known {
    /// The name of the declaration, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Known::Elementwise => "Known::Elementwise",
            Known::Banded { .. } => "Known::Banded",
            Known::Pattern(_) => "Known::Pattern",
            Known::Tied { .. } => "Known::Tied",
            Known::RowSparse { .. } => "Known::RowSparse",
            Known::Dense => "Known::Dense",
            Known::Nothing => "Known::Nothing",
            Known::Structure(_) => "Known::Structure",
        }
    }

    /// The structure of the full Jacobian `[∂y/∂x  ∂y/∂θ]` (`m × (n + p)`).
    ///
    /// Errors: a declaration that does not fit `dims` (elementwise or tied with
    /// `m ≠ n`, a pattern of other dimensions, zero nonzeros), or one the core refuses.
    pub fn structure(&self, dims: LayerDims) -> Result<Structure> {
        let LayerDims { inputs: n, parameters: p, outputs: m } = dims;
        let mismatch = |what| Error::StructureMismatch { known: self.name(), what, inputs: n, outputs: m };
        let square = || if m == n { Ok(()) } else { Err(mismatch("as many outputs as inputs")) };
        let x_structure = match self {
            Known::Elementwise => {
                square()?;
                Structure::sparse(Pattern::banded(m, n, 0, 0))
            }
            Known::Banded { lower, upper } => Structure::sparse(Pattern::banded(m, n, *lower, *upper)),
            Known::Pattern(pattern) => {
                if (pattern.nrows(), pattern.ncols()) != (m, n) {
                    return Err(mismatch("a pattern of outputs × inputs"));
                }
                Structure::sparse(pattern.clone())
            }
            Known::Tied { lower, upper } => {
                square()?;
                let ties = (0..=lower + upper)
                    .map(|d| {
                        (0..m)
                            .filter_map(|i| (i + d).checked_sub(*lower).filter(|&j| j < n).map(|j| (i, j, 1.0)))
                            .collect()
                    })
                    .collect();
                Structure::sparse(Pattern::banded(m, n, *lower, *upper))
                    .with_coupling(Coupling { ties, ..Coupling::default() })?
            }
            Known::RowSparse { nonzeros } => {
                if *nonzeros == 0 {
                    return Err(mismatch("at least one nonzero per row"));
                }
                Structure::dense(m, n).with_row_sparsity(*nonzeros)
            }
            Known::Dense | Known::Nothing => Structure::dense(m, n),
            Known::Structure(s) => {
                if s.dims() != (n, m) {
                    return Err(mismatch("a structure of outputs × inputs"));
                }
                Structure::clone(s)
            }
        };
        with_parameters(&x_structure, p)
    }
}

/// `structure` (m × n) with `p` parameter columns appended to every row; row sparsity
/// grows by `p`, ties and known entries keep their places.
fn with_parameters(structure: &Structure, p: usize) -> Result<Structure> {
    if p == 0 {
        return Ok(structure.clone());
    }
    let (n, m) = structure.dims();
    let pattern = structure.pattern();
    let mut full = if pattern.is_dense() {
        Structure::dense(m, n + p)
    } else {
        let rows: Vec<Vec<usize>> = (0..m).map(|i| pattern.row(i).iter().copied().chain(n..n + p).collect()).collect();
        Structure::sparse(Pattern::from_rows(n + p, &rows)?)
    };
    if let Some(s) = structure.row_sparsity() {
        full = full.with_row_sparsity(s + p);
    }
    match structure.coupling() {
        Some(coupling) => Ok(full.with_coupling(coupling.clone())?),
        None if structure.is_symmetric() => Err(Error::StructureMismatch {
            known: "a symmetric structure",
            what: "a square Jacobian, which parameters make non-square",
            inputs: n,
            outputs: m,
        }),
        None => Ok(full),
    }
}
