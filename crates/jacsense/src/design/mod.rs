//! Designs: the directions along which the blackbox is called (DESIGN.md §3).
//!
//! A design is a set of `k` directions `D = [d₁ … d_k]` (n × k). A call at
//! `x0 + H d_t` (H = diag of per-coordinate steps, [`Step`]) gives the measurement
//! `y_t ≈ J H d_t`. Every row `i` of `J` is then seen through the small system
//! `y_i = (H D)ᵀ[·, cols(i)] J[i, cols(i)]ᵀ`.
//!
//! - [`Design::Coordinate`]: `d_t = e_t`, `n` directions, every entry read off.
//! - [`Design::Colored`]: Curtis, Powell & Reid (1974), "On the estimation of sparse
//!   Jacobian matrices": one direction per color of a column coloring, the sum of that
//!   color's unit vectors; entries read off.
//! - [`Design::Random`]: `k` Gaussian or Rademacher directions; each row is a small
//!   least-squares problem with `ρᵢ` unknowns, so `k ≥ ρ_max` calls suffice whatever
//!   the coloring number.
//! - [`Design::Rainbow`]: `k` directions `d_t = S g_t` from a column coloring `S`,
//!   random coefficients per color and random signs per column: every row sees a
//!   `k × ρᵢ` Gaussian system (its columns have distinct colors), so `k ≥ ρ_max`
//!   calls suffice, and redundancy beyond that buys noise averaging and outlier
//!   correction.

mod colored;
mod coordinate;
mod rainbow;
mod random;
mod step;

pub(crate) use colored::colored_directions;
pub(crate) use coordinate::coordinate_directions;
pub(crate) use rainbow::rainbow_directions;
pub(crate) use random::random_directions;
pub(crate) use step::steps;

use crate::coloring::{Coloring, Ordering};
use crate::error::Result;
use crate::pattern::Pattern;

/// Which directions to call.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Design {
    /// Chosen by the planner from the structure, the expected noise and outliers and
    /// the budget ([`Settings`](crate::Settings)); see the `planner` module.
    #[default]
    Auto,
    /// One direction per input coordinate (classical finite differences): `n` directions.
    Coordinate,
    /// One direction per color of a column coloring of the pattern (Curtis–Powell–Reid):
    /// `χ` directions. `ordering: None` tries every vertex ordering and keeps the fewest
    /// colors.
    Colored {
        /// Vertex ordering of the greedy coloring; `None` for the best of all.
        ordering: Option<Ordering>,
    },
    /// One direction per group of a column coloring the caller gives (checked valid for
    /// the pattern: no two columns of a group share a row): entries read off as for
    /// [`Design::Colored`].
    Groups(Coloring),
    /// `k` random directions; every row is decoded by least squares on its allowed
    /// columns.
    Random {
        /// Distribution of the direction entries.
        distribution: RandomDistribution,
        /// Number of directions `k`; `None` for [`Design::default_random_directions`].
        directions: Option<usize>,
    },
    /// One direction per color of a star coloring of a symmetric structure
    /// (Coleman & Moré 1984; Gebremedhin, Tarafdar, Manne & Pothen 2007): every entry
    /// is read off from its own row or, by symmetry, its mirror's. `χ_star` directions,
    /// often far fewer than a column coloring needs (2 for an arrowhead).
    Star {
        /// Vertex ordering of the coloring; `None` for the best of all.
        ordering: Option<Ordering>,
    },
    /// `k` rainbow directions `S g_t` (a column coloring `S`, Gaussian `g_t ∈ R^χ`,
    /// random signs per column).
    Rainbow {
        /// Vertex ordering of the coloring; `None` for the best of all.
        ordering: Option<Ordering>,
        /// Number of directions `k`; `None` for `ρ_max` + [`Design::RANDOM_OVERSAMPLING`].
        directions: Option<usize>,
    },
}

impl Design {
    /// Directions beyond `ρ_max` that a Gaussian [`Design::Random`] uses by default: the
    /// smallest singular value of a `k × d` Gaussian matrix falls below `s` with
    /// probability about `s^(k−d+1)`, so two extra directions keep the worst of
    /// thousands of rows within a modest condition number.
    pub const RANDOM_OVERSAMPLING: usize = 2;

    /// The default number of random directions for `m` rows with at most `rho_max`
    /// unknowns each.
    ///
    /// Gaussian: `ρ_max + 2`. Rademacher: a `k × d` sign matrix is singular with
    /// probability about `d² 2^(−k)` (two equal or opposite columns), so `k` also
    /// reaches `log₂(100 · m · ρ_max²)`, keeping the chance that any row is rank
    /// deficient near 1%.
    ///
    /// ```
    /// use jacsense::{Design, RandomDistribution};
    /// assert_eq!(Design::default_random_directions(RandomDistribution::Gaussian, 1000, 5), 7);
    /// assert_eq!(Design::default_random_directions(RandomDistribution::Rademacher, 1000, 5), 22);
    /// ```
    pub fn default_random_directions(distribution: RandomDistribution, m: usize, rho_max: usize) -> usize {
        let base = rho_max + Self::RANDOM_OVERSAMPLING;
        match distribution {
            RandomDistribution::Gaussian => base,
            RandomDistribution::Rademacher => {
                let pairs = 100.0 * (m.max(1) as f64) * (rho_max.max(1) as f64).powi(2);
                base.max(pairs.log2().ceil() as usize)
            }
        }
    }

    /// A short name for tables and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Design::Auto => "auto",
            Design::Coordinate => "coordinate",
            Design::Colored { .. } => "colored",
            Design::Groups(_) => "groups",
            Design::Random { distribution: RandomDistribution::Gaussian, .. } => "random-gaussian",
            Design::Random { distribution: RandomDistribution::Rademacher, .. } => "random-rademacher",
            Design::Rainbow { .. } => "rainbow",
            Design::Star { .. } => "star",
        }
    }
}

/// Distribution of the entries of random directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RandomDistribution {
    /// Standard normal entries.
    #[default]
    Gaussian,
    /// Entries ±1 with equal probability.
    Rademacher,
}

/// Forward or central difference quotients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Difference {
    /// `f(x0 + H d) − f(x0)`: `k + 1` calls, error `O(h)`.
    #[default]
    Forward,
    /// `(f(x0 + H d) − f(x0 − H d)) / 2`: `2k` calls, error `O(h²)`.
    Central,
}

/// The per-coordinate step `h_c` (DESIGN.md §1).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Step {
    /// `h_c = h0 · max(1, |x0_c|)` with `h0 = √ε` (forward) or `∛ε` (central).
    #[default]
    Default,
    /// `h_c = h0 · max(1, |x0_c|)` with the given `h0`.
    Relative(f64),
    /// The same absolute step for every coordinate.
    Absolute(f64),
    /// One absolute step per coordinate.
    PerCoordinate(Vec<f64>),
    /// Relative step chosen for a blackbox whose outputs carry noise of the given level
    /// (relative to `max(1, |f|)`): `√noise` forward, `∛noise` central, never below the
    /// default. Central differences along random directions reduce it by
    /// `(k/ρ_max)^(1/6)` when redundant measurements average the noise (their cubic
    /// term is a bias that averaging keeps); forward differences keep `√noise` (their
    /// curvature term averages down with the noise).
    Noise(f64),
}

/// The directions of a design, stored by input coordinate.
#[derive(Clone, Debug)]
pub(crate) enum Directions {
    /// Direction `t` is the sum of the unit vectors `e_c` with `group[c] == t`
    /// (coordinate and colored designs); `members[t]` lists them.
    Grouped { group: Vec<usize>, members: Vec<Vec<usize>> },
    /// Dense directions on `columns` (ascending; `None`: every coordinate): the
    /// coefficient of the `p`-th of them in direction `t` is `values[p * k + t]`; the
    /// other coordinates are never perturbed.
    Dense { k: usize, columns: Option<Vec<usize>>, values: Vec<f64> },
    /// Rainbow directions `d_t = S g_t` with random signs per column: coefficient of
    /// coordinate `c` in direction `t` is `sign[c] · g[color[c] * k + t]` (`g` is χ × k).
    Rainbow { k: usize, color: Vec<usize>, sign: Vec<f64>, g: Vec<f64> },
}

impl Directions {
    /// Number of directions `k`.
    pub(crate) fn len(&self) -> usize {
        match self {
            Directions::Grouped { members, .. } => members.len(),
            Directions::Dense { k, .. } | Directions::Rainbow { k, .. } => *k,
        }
    }

    /// Calls `visit(t, coef)` for every direction `t` in which coordinate `c` has a
    /// nonzero coefficient, in increasing `t`.
    pub(crate) fn for_each_in_coordinate(&self, c: usize, mut visit: impl FnMut(usize, f64)) {
        match self {
            Directions::Grouped { group, .. } => visit(group[c], 1.0),
            Directions::Dense { k, columns, values } => {
                let p = match columns.as_deref().map(|cols| cols.binary_search(&c)) {
                    None => c,
                    Some(Ok(p)) => p,
                    Some(Err(_)) => return,
                };
                for (t, &v) in values[p * k..(p + 1) * k].iter().enumerate() {
                    if v != 0.0 {
                        visit(t, v);
                    }
                }
            }
            Directions::Rainbow { k, color, sign, g } => {
                let row = &g[color[c] * k..(color[c] + 1) * k];
                for (t, &v) in row.iter().enumerate() {
                    if v != 0.0 {
                        visit(t, sign[c] * v);
                    }
                }
            }
        }
    }

    /// Calls `visit(c, coef)` for every nonzero coefficient of direction `t`.
    pub(crate) fn for_each_in_direction(&self, t: usize, mut visit: impl FnMut(usize, f64)) {
        match self {
            Directions::Grouped { members, .. } => members[t].iter().for_each(|&c| visit(c, 1.0)),
            Directions::Dense { k, columns, values } => {
                for (p, &v) in values.iter().skip(t).step_by(*k).enumerate() {
                    if v != 0.0 {
                        visit(columns.as_ref().map_or(p, |cols| cols[p]), v);
                    }
                }
            }
            Directions::Rainbow { k, color, sign, g } => {
                for (c, (&col, &s)) in color.iter().zip(sign).enumerate() {
                    let v = g[col * k + t];
                    if v != 0.0 {
                        visit(c, s * v);
                    }
                }
            }
        }
    }

    /// Whether every coordinate lies in at most one direction with coefficient one, so
    /// that rows with distinct groups are read off directly.
    pub(crate) fn is_grouped(&self) -> bool {
        matches!(self, Directions::Grouped { .. })
    }

    /// Whether every row of `pattern` sees every direction, so that the measurements
    /// are stored `m × k` without an index of who sees what: always for dense, random
    /// and rainbow directions; for grouped ones (coordinate, colored) when the pattern
    /// is dense and no group is empty. Answered in `O(k)`, never by visiting the `m·n`
    /// entries of a dense pattern.
    pub(crate) fn seen_whole_by(&self, pattern: &Pattern) -> bool {
        match self {
            Directions::Grouped { members, .. } => pattern.is_dense() && members.iter().all(|g| !g.is_empty()),
            Directions::Dense { .. } | Directions::Rainbow { .. } => true,
        }
    }
}

/// Checks, before they are drawn, that `k` random directions of `len` coefficients
/// each (`n` for random directions, `χ` for rainbow ones) fit in memory; `dims` is
/// `(n, m)` of `J`.
pub(crate) fn check_directions_fit(design: &Design, len: usize, k: usize, dims: (usize, usize)) -> Result<()> {
    let (n, m) = dims;
    let what = || format!("the {k} {} directions for n = {n} inputs ({len} × {k} coefficients)", design.name());
    // Every call's state in the measurements counts too: with n = m = 0 it is all there
    // is, and 10¹⁴ calls aborted in its allocation.
    let states = (k as u128) * std::mem::size_of::<crate::measurements::CallState>().div_ceil(8) as u128;
    crate::memory::check_fits(what, len as u128 * k as u128 + states, std::mem::size_of::<f64>(), m, n)
}
