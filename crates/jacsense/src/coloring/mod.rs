//! Graph coloring of the columns or rows of a sparsity pattern.
//!
//! Curtis, Powell and Reid (1974) observed that columns of `J` that never share a row
//! are *structurally orthogonal*: one call along the sum of their unit directions
//! measures all of them at once, and each entry is read off in the row where it is the
//! only unknown. Grouping the columns into few such groups is a *partial distance-2
//! coloring* of the bipartite graph rows × columns (Gebremedhin, Manne, Pothen, "What
//! color is your Jacobian? Graph coloring for computing derivatives", SIAM Review 47(4),
//! 2005, §3): two columns may share a color only if no row holds both. Row coloring is
//! the same problem on the transpose and serves the left action `vᵀJ`. For a symmetric
//! `H` (a Hessian), a [star coloring](color_star) of the adjacency graph needs far fewer
//! colors and still reads every entry directly (Coleman and Moré 1984; Gebremedhin,
//! Tarafdar, Manne, Pothen 2007).
//!
//! Colorings here are greedy and first-fit: vertices are visited in an [`Ordering`]
//! (natural, largest-first, smallest-last, incidence-degree, dynamic largest-first, as
//! in ColPack and SparseMatrixColorings.jl) and each takes the smallest color not used
//! by a vertex it shares a row (column) with. No valid column coloring has fewer than
//! `ρ_max` colors, the largest row count ([`lower_bound`]); [`check_column_coloring`]
//! and [`check_row_coloring`] verify a coloring from any source.
//!
//! ```
//! use jacsense::{Pattern, coloring::{self, Ordering}};
//! let p = Pattern::banded(100, 100, 1, 1); // tridiagonal
//! let c = coloring::color_columns(&p, Ordering::Natural);
//! assert_eq!(c.num_colors(), 3);
//! coloring::check_column_coloring(&p, &c)?;
//! assert_eq!(c.groups()[0][..3], [0, 3, 6]);
//! # Ok::<(), jacsense::Error>(())
//! ```

mod check;
mod column;
mod order;
mod recolor;
mod row;
mod search;
mod star;

pub use check::{check_column_coloring, check_row_coloring};
pub use column::{best_column_coloring, color_columns, lower_bound};
pub use order::{Ordering, column_order};
pub use recolor::{recolor_columns, recolor_rows};
pub use row::color_rows;
pub use search::{SearchLimit, SearchOutcome, search_columns};
pub use star::{DirectRead, StarColoring, best_star_coloring, check_star_coloring, color_star};

use crate::pattern::Pattern;

impl From<Vec<usize>> for Coloring {
    fn from(colors: Vec<usize>) -> Coloring {
        Coloring::new(colors)
    }
}

impl From<Coloring> for Vec<usize> {
    fn from(c: Coloring) -> Vec<usize> {
        c.colors
    }
}

/// A coloring of vertices (columns or rows): `colors[v]` in `0..num_colors`.
///
/// ```
/// use jacsense::coloring::Coloring;
/// let c = Coloring::new(vec![0, 1, 0, 2]);
/// assert_eq!(c.num_colors(), 3);
/// assert_eq!(c.color(2), 0);
/// assert_eq!(c.groups(), vec![vec![0, 2], vec![1], vec![3]]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "Vec<usize>", into = "Vec<usize>")]
pub struct Coloring {
    colors: Vec<usize>,
    num_colors: usize,
}

impl Coloring {
    /// Wraps a color per vertex. The number of colors is the largest color plus one
    /// (zero for no vertices); a color in that range that no vertex uses is an empty
    /// group.
    ///
    /// ```
    /// # use jacsense::coloring::Coloring;
    /// assert_eq!(Coloring::new(vec![]).num_colors(), 0);
    /// assert_eq!(Coloring::new(vec![2, 0]).num_colors(), 3);
    /// ```
    pub fn new(colors: Vec<usize>) -> Coloring {
        let num_colors = colors.iter().max().map_or(0, |&c| c.saturating_add(1));
        Coloring { colors, num_colors }
    }

    /// Number of colors (groups, hence calls of a colored design).
    ///
    /// ```
    /// # use jacsense::coloring::Coloring;
    /// assert_eq!(Coloring::new(vec![0, 1, 1]).num_colors(), 2);
    /// ```
    pub fn num_colors(&self) -> usize {
        self.num_colors
    }

    /// The color of every vertex.
    ///
    /// ```
    /// # use jacsense::coloring::Coloring;
    /// assert_eq!(Coloring::new(vec![0, 1, 1]).colors(), &[0, 1, 1]);
    /// ```
    pub fn colors(&self) -> &[usize] {
        &self.colors
    }

    /// The color of vertex `v`.
    ///
    /// # Panics
    /// When `v` is not a vertex (`v >= len()`).
    ///
    /// ```
    /// # use jacsense::coloring::Coloring;
    /// assert_eq!(Coloring::new(vec![0, 1, 1]).color(1), 1);
    /// ```
    pub fn color(&self, v: usize) -> usize {
        self.colors[v]
    }

    /// Number of vertices colored.
    ///
    /// ```
    /// # use jacsense::coloring::Coloring;
    /// assert_eq!(Coloring::new(vec![0, 1, 1]).len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.colors.len()
    }

    /// Whether there are no vertices.
    ///
    /// ```
    /// # use jacsense::coloring::Coloring;
    /// assert!(Coloring::new(vec![]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.colors.is_empty()
    }

    /// The members of each color, in ascending order; entry `k` lists the vertices of
    /// color `k`.
    ///
    /// ```
    /// # use jacsense::coloring::Coloring;
    /// assert_eq!(Coloring::new(vec![1, 0, 1]).groups(), vec![vec![1], vec![0, 2]]);
    /// ```
    pub fn groups(&self) -> Vec<Vec<usize>> {
        let mut sizes = vec![0usize; self.num_colors];
        for &c in &self.colors {
            sizes[c] += 1;
        }
        let mut groups: Vec<Vec<usize>> = sizes.into_iter().map(Vec::with_capacity).collect();
        for (v, &c) in self.colors.iter().enumerate() {
            groups[c].push(v);
        }
        groups
    }
}

/// The bipartite graph of a pattern seen from the side being colored: `incidence`
/// lists the nets (rows, when coloring columns) of every vertex and `nets` lists the
/// vertices of every net. Coloring rows swaps the two, so no code is duplicated and
/// no second transpose is built.
#[derive(Clone, Copy)]
pub(crate) struct Bipartite<'a> {
    nets: &'a Pattern,
    incidence: &'a Pattern,
}

impl<'a> Bipartite<'a> {
    /// The graph whose vertices are the columns of `nets` (rows of `incidence`), with
    /// `incidence == nets.transpose()`.
    pub(crate) fn new(nets: &'a Pattern, incidence: &'a Pattern) -> Self {
        debug_assert_eq!(nets.ncols(), incidence.nrows());
        debug_assert_eq!(nets.nnz(), incidence.nnz());
        Bipartite { nets, incidence }
    }

    /// Number of vertices being colored.
    pub(crate) fn num_vertices(&self) -> usize {
        self.incidence.nrows()
    }

    /// Whether some net holds every vertex (then every vertex meets every other).
    pub(crate) fn has_full_net(&self) -> bool {
        let n = self.num_vertices();
        n > 0 && self.nets.max_row_count() == n
    }

    /// Whether every net holds every vertex and there is a net: the complete graph,
    /// whose orderings are known in closed form ([`order::dense_order`]).
    pub(crate) fn is_complete(&self) -> bool {
        self.nets.is_dense() && self.nets.nrows() > 0
    }
}

/// Visits the distance-2 neighbours of vertices (other vertices sharing a net), each
/// once. Deduplication uses a marker stamped with the current vertex, so it never
/// needs clearing; a vertex is stamped before its nets are scanned, which excludes it
/// from its own neighbours.
pub(crate) struct Distance2 {
    mark: Vec<usize>,
}

impl Distance2 {
    pub(crate) fn new(num_vertices: usize) -> Self {
        Distance2 { mark: vec![usize::MAX; num_vertices] }
    }

    #[inline]
    pub(crate) fn for_each(&mut self, g: &Bipartite<'_>, v: usize, mut f: impl FnMut(usize)) {
        self.mark[v] = v;
        for &net in g.incidence.row(v) {
            for &w in g.nets.row(net) {
                if self.mark[w] != v {
                    self.mark[w] = v;
                    f(w);
                }
            }
        }
    }
}
