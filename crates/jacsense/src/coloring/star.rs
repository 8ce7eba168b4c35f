//! Star coloring: the symmetric design, one call per color for a whole Hessian.
//!
//! For a symmetric `H` (the Jacobian of a gradient), a *star coloring* of the adjacency
//! graph (vertices are columns, an edge `i – j` for every stored off-diagonal entry) is
//! a distance-1 coloring in which every path on four vertices uses at least three
//! colors. Calling along the sum of the unit directions of each color measures
//! `Y = H S` (`S` the n × χ color-class indicator matrix), and every entry is read off
//! directly, with no solve: in row `i` the measurement of `color(j)` sums `H_ik` over the
//! `k` of that color, and if `j` is not the only one, then `i` is the only vertex of
//! `color(i)` in row `j` — otherwise the two witnesses and `i – j` would form a
//! two-colored path on four vertices (Coleman and Moré, "Estimation of sparse Hessian
//! matrices and graph coloring problems", Math. Programming 28, 1984; Gebremedhin,
//! Manne, Pothen, "What color is your Jacobian?", SIAM Review 47(4), 2005, §5). Star
//! colorings need far fewer colors than column colorings of the same symmetric pattern:
//! 2 for an arrowhead instead of `n`.
//!
//! The greedy algorithm is Algorithm 4.1 of Gebremedhin, Tarafdar, Manne, Pothen, "New
//! acyclic and star coloring algorithms with application to computing Hessians", SIAM
//! J. Sci. Comput. 29(3), 2007, as in ColPack and SparseMatrixColorings.jl. The colored
//! part of the graph is kept a star coloring; its two-colored components are then stars,
//! and the algorithm records for every edge its star and for every star its hub (its
//! center, undefined while the star is a single edge). A vertex `v` about to be colored
//! may not take
//!
//! - the color of a neighbour `w` (distance-1);
//! - the color of any neighbour of `w` when `v` has a second neighbour `q` of the same
//!   color as `w`: `v` would be the middle of a path `x – w – v – q` (both `w` and `q`
//!   are then "treated", their neighbourhoods scanned once per `v`);
//! - the color of a neighbour `x` of `w` that is the hub of the star of `w – x`: `x` has
//!   another neighbour `y` of `w`'s color, and `v – w – x – y` would be two-colored.
//!
//! After `v` is colored, each edge `v – w` joins the star of `w – x` when `w` has another
//! neighbour `x` of `v`'s color (`w` is its hub), the star of `v – q` when `v` has
//! another neighbour `q` of `w`'s color (`v` is its hub), or starts a new star. Time is
//! `O(Σᵥ deg(v)²)`, near `O(|E|·d)`, with no hashing: stars are indexed by the position
//! of the edge in the pattern, and both positions of an edge are linked by a mirror
//! array built in the symmetry check.
//!
//! Vertex orderings are the [`Ordering`]s of column coloring taken on the adjacency
//! graph itself (degrees are distance-1), as ColPack and SparseMatrixColorings.jl do for
//! star coloring.
//!
//! A dense pattern's graph is complete: a star coloring is then a distance-1 coloring
//! with `n` colors, the `k`-th vertex visited taking color `k` in every ordering, so
//! it is found (and checked) in `O(n)` instead of `O(n³)`; only its direct recovery
//! map, one read per entry, is `O(n²)`.

use super::order::{dense_order, vertex_order};
use super::{Bipartite, Coloring, Ordering};
use crate::error::{Error, Result};
use crate::pattern::Pattern;

const NONE: usize = usize::MAX;

/// Where a stored entry of a symmetric `H` is read in the compressed product
/// `Y = H S`: `H_ij = Y[row, color]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DirectRead {
    /// The output row of the measurement (`i` or `j`).
    pub row: usize,
    /// The color, i.e. the call, whose measurement holds the entry.
    pub color: usize,
}

/// A star coloring of a symmetric pattern together with its direct recovery map.
///
/// ```
/// use jacsense::{Pattern, coloring::{Ordering, color_star, color_columns}};
/// // Arrowhead: dense first row and column plus the diagonal.
/// let n = 100;
/// let mut rows = vec![(0..n).collect::<Vec<_>>()];
/// rows.extend((1..n).map(|i| vec![0, i]));
/// let p = Pattern::from_rows(n, &rows)?;
/// let star = color_star(&p, Ordering::Natural)?;
/// assert_eq!(star.num_colors(), 2); // the hub, then everyone else
/// assert_eq!(color_columns(&p, Ordering::Natural).num_colors(), n);
/// assert_eq!(star.direct_recovery().len(), p.nnz());
/// # Ok::<(), jacsense::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StarColoring {
    coloring: Coloring,
    reads: Vec<DirectRead>,
}

impl StarColoring {
    /// Wraps a coloring from any source after checking it with
    /// [`check_star_coloring`], and computes its direct recovery map.
    ///
    /// ```
    /// use jacsense::{Pattern, coloring::{Coloring, DirectRead, StarColoring}};
    /// let p = Pattern::banded(4, 4, 1, 1); // path 0 – 1 – 2 – 3
    /// let star = StarColoring::from_coloring(&p, Coloring::new(vec![0, 1, 2, 0]))?;
    /// // Entry (1, 2): color 2 is alone in row 1.
    /// assert_eq!(star.direct_recovery()[4], DirectRead { row: 1, color: 2 });
    /// // Colors 0, 1, 0, 1 make the path two-colored.
    /// assert!(StarColoring::from_coloring(&p, Coloring::new(vec![0, 1, 0, 1])).is_err());
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn from_coloring(pattern: &Pattern, coloring: Coloring) -> Result<StarColoring> {
        check_star_coloring(pattern, &coloring)?;
        let reads = direct_reads(pattern, &coloring);
        Ok(StarColoring { coloring, reads })
    }

    /// The coloring of the columns.
    ///
    /// ```
    /// use jacsense::{Pattern, coloring::color_star};
    /// use jacsense::coloring::{Ordering};
    /// let star = color_star(&Pattern::banded(6, 6, 1, 1), Ordering::Natural)?;
    /// assert_eq!(star.coloring().colors(), &[0, 1, 0, 2, 0, 1]);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn coloring(&self) -> &Coloring {
        &self.coloring
    }

    /// Number of colors: the calls of a star-colored design.
    ///
    /// ```
    /// use jacsense::{Pattern, coloring::color_star};
    /// use jacsense::coloring::{Ordering};
    /// assert_eq!(color_star(&Pattern::banded(9, 9, 0, 0), Ordering::Natural)?.num_colors(), 1);
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn num_colors(&self) -> usize {
        self.coloring.num_colors()
    }

    /// For every stored entry `(i, j)` of the pattern, in row-major order (diagonal
    /// included), where to read it: `H_ij = Y[read.row, read.color]` with `Y = H S`,
    /// `S[k, c] = 1` when `color(k) = c`.
    ///
    /// The read is `(i, color(j))` when `j` is the only vertex of its color in row `i`
    /// (always so for the diagonal), and `(j, color(i))` otherwise; a star coloring
    /// guarantees that `i` is then the only vertex of its color in row `j`. Either way
    /// `Y[row, color]` is a sum over the stored entries of one row in which `H_ij` is
    /// the only term, so the read is exact for any values on the pattern, with no
    /// rounding (a sum of one term and exact zeros).
    ///
    /// ```
    /// use jacsense::{Pattern, coloring::{Ordering, color_star, DirectRead}};
    /// let p = Pattern::banded(4, 4, 1, 1);
    /// let star = color_star(&p, Ordering::Natural)?;
    /// assert_eq!(star.coloring().colors(), &[0, 1, 0, 2]);
    /// let reads = star.direct_recovery();
    /// assert_eq!(reads[0], DirectRead { row: 0, color: 0 }); // (0, 0)
    /// // (1, 0): row 1 holds 0 and 2, both of color 0, so H_10 is read as H_01, in
    /// // row 0 where color 1 is alone.
    /// assert_eq!(reads[2], DirectRead { row: 0, color: 1 });
    /// // (2, 1): row 2 holds 1, 2, 3 with colors 1, 0, 2 — color 1 is alone.
    /// assert_eq!(reads[5], DirectRead { row: 2, color: 1 });
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn direct_recovery(&self) -> &[DirectRead] {
        &self.reads
    }

    /// The values of `H` on the pattern (row-major, as in
    /// [`SparseMatrix`](crate::SparseMatrix)) read from the compressed product:
    /// `compressed(row, color)` is `Y[row, color]`.
    ///
    /// ```
    /// use jacsense::{Pattern, SparseMatrix, coloring::color_star};
    /// use jacsense::coloring::{Ordering};
    /// let p = Pattern::banded(5, 5, 1, 1);
    /// let h = SparseMatrix::new(p.clone(), vec![4., 1., 1., 5., 2., 2., 6., 3., 3., 7., 8., 8., 9.])?;
    /// let star = color_star(&p, Ordering::Natural)?;
    /// // Y = H S, one column per call.
    /// let groups = star.coloring().groups();
    /// let y: Vec<Vec<f64>> = groups
    ///     .iter()
    ///     .map(|g| {
    ///         let mut d = vec![0.0; 5];
    ///         g.iter().for_each(|&k| d[k] = 1.0);
    ///         let mut hd = vec![0.0; 5];
    ///         h.mul_vec(&d, &mut hd);
    ///         hd
    ///     })
    ///     .collect();
    /// assert_eq!(star.recover(|row, color| y[color][row]), h.values());
    /// # Ok::<(), jacsense::Error>(())
    /// ```
    pub fn recover(&self, compressed: impl Fn(usize, usize) -> f64) -> Vec<f64> {
        self.reads.iter().map(|r| compressed(r.row, r.color)).collect()
    }
}

/// Star-colors the columns of a square, structurally symmetric pattern, visiting them
/// in `ordering` (taken on the adjacency graph). Diagonal entries are ignored by the
/// coloring and recovered like any other entry. Deterministic.
///
/// # Errors
/// [`Error::DimensionMismatch`] when the pattern is not square, and
/// [`Error::InvalidSetting`] naming the first entry `(i, j)` in row-major order whose
/// mirror `(j, i)` is not stored.
///
/// ```
/// use jacsense::{Pattern, coloring::{Ordering, color_star, check_star_coloring}};
/// let p = Pattern::banded(100, 100, 1, 1); // tridiagonal
/// let star = color_star(&p, Ordering::Natural)?;
/// assert_eq!(star.num_colors(), 3);
/// check_star_coloring(&p, star.coloring())?;
///
/// let q = Pattern::from_triplets(3, 3, &[(0, 0), (0, 2), (1, 2), (2, 1)])?;
/// let err = color_star(&q, Ordering::Natural).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid setting: pattern = entry (0, 2) without (2, 0) (star coloring needs a structurally symmetric pattern)"
/// );
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn color_star(pattern: &Pattern, ordering: Ordering) -> Result<StarColoring> {
    if let Some(n) = complete_graph(pattern) {
        let mut colors = vec![0; n];
        for (k, v) in dense_order(n, ordering).into_iter().enumerate() {
            colors[v] = k;
        }
        let coloring = Coloring::new(colors);
        let reads = direct_reads(pattern, &coloring);
        return Ok(StarColoring { coloring, reads });
    }
    let mirror = mirror_positions(pattern)?;
    let order = adjacency_order(pattern, ordering);
    let coloring = greedy_star(pattern, &mirror, &order);
    debug_assert!(check_star_coloring(pattern, &coloring).is_ok());
    let reads = direct_reads(pattern, &coloring);
    Ok(StarColoring { coloring, reads })
}

/// The star coloring with the fewest colors over all vertex orderings (ties: the
/// first in [`Ordering::ALL`]).
///
/// ```
/// use jacsense::{Pattern, coloring::best_star_coloring};
/// let (_, star) = best_star_coloring(&Pattern::banded(50, 50, 1, 1))?;
/// assert_eq!(star.num_colors(), 3);
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn best_star_coloring(pattern: &Pattern) -> Result<(Ordering, StarColoring)> {
    if complete_graph(pattern).is_some() {
        // n colors in every ordering: the first one wins the tie.
        return Ok((Ordering::Natural, color_star(pattern, Ordering::Natural)?));
    }
    let mut best: Option<(Ordering, StarColoring)> = None;
    for ordering in Ordering::ALL {
        let star = color_star(pattern, ordering)?;
        if best.as_ref().is_none_or(|(_, b)| star.num_colors() < b.num_colors()) {
            best = Some((ordering, star));
        }
    }
    Ok(best.expect("Ordering::ALL is not empty"))
}

/// Checks that `coloring` is a star coloring of the adjacency graph of a square,
/// structurally symmetric pattern: adjacent columns have different colors and no path
/// on four vertices alternates two colors.
///
/// A two-colored path `a – b – c – d` exists exactly when some edge `b – c` has
/// `color(c)` twice in row `b` and `color(b)` twice in row `c`, so one pass over the
/// rows with per-color counts decides it in `O(nnz log d)` (plus the scans naming a
/// path on failure). The error names the first adjacent pair of one color, scanning
/// rows in order, or else the path whose middle edge comes first in row-major order.
///
/// # Errors
/// As [`color_star`] for the pattern; [`Error::DimensionMismatch`] when the coloring
/// does not have one color per column; [`Error::InvalidColoring`] naming a conflict.
///
/// ```
/// use jacsense::{Pattern, coloring::check_star_coloring};
/// use jacsense::coloring::{Coloring};
/// let p = Pattern::banded(4, 4, 1, 1);
/// assert!(check_star_coloring(&p, &Coloring::new(vec![0, 1, 2, 0])).is_ok());
/// let err = check_star_coloring(&p, &Coloring::new(vec![0, 1, 0, 1])).unwrap_err();
/// assert_eq!(err.to_string(), "invalid coloring: path 0 – 1 – 2 – 3 alternates colors 0 and 1");
/// let err = check_star_coloring(&p, &Coloring::new(vec![0, 1, 1, 2])).unwrap_err();
/// assert_eq!(err.to_string(), "invalid coloring: adjacent columns 1 and 2 share color 1");
/// ```
pub fn check_star_coloring(pattern: &Pattern, coloring: &Coloring) -> Result<()> {
    let complete = complete_graph(pattern);
    let mirror = if complete.is_some() { Vec::new() } else { mirror_positions(pattern)? };
    let n = pattern.ncols();
    if coloring.len() != n {
        return Err(Error::DimensionMismatch { what: "coloring length (columns)", expected: n, found: coloring.len() });
    }
    let k = coloring.num_colors();
    if let Some((v, &c)) = coloring.colors().iter().enumerate().find(|&(_, &c)| c >= k) {
        return Err(Error::InvalidColoring(format!("column {v} has color {c} but the coloring has {k} colors")));
    }
    if complete.is_some() {
        return check_distinct(coloring);
    }
    check_paths(pattern, &mirror, coloring)
}

/// The check of a star coloring of a complete graph: every two columns are adjacent,
/// so the colors must be distinct (then no path has two colors). The first conflict in
/// row order is in the row of the smallest column whose color repeats, with the next
/// column of that color, as [`check_paths`] would name it.
fn check_distinct(coloring: &Coloring) -> Result<()> {
    let colors = coloring.colors();
    // The first two members of every color.
    let mut members = vec![(NONE, NONE); coloring.num_colors()];
    for (v, &c) in colors.iter().enumerate() {
        match members[c] {
            (NONE, _) => members[c].0 = v,
            (_, NONE) => members[c].1 = v,
            _ => {}
        }
    }
    match members.iter().filter(|m| m.1 != NONE).min() {
        Some(&(i, j)) => Err(Error::InvalidColoring(format!("adjacent columns {i} and {j} share color {}", colors[i]))),
        None => Ok(()),
    }
}

/// The check of a star coloring (colors in range, one per column) on any symmetric
/// pattern, `mirror` its [`mirror_positions`].
fn check_paths(pattern: &Pattern, mirror: &[usize], coloring: &Coloring) -> Result<()> {
    let (n, k, colors) = (pattern.ncols(), coloring.num_colors(), coloring.colors());
    let (row_ptr, col_idx) = pattern.csr();
    let (row_ptr, col_idx) = (&*row_ptr, &*col_idx);
    // repeated[p]: the color of col_idx[p] occurs at least twice among the neighbours
    // of its row (diagonal excluded).
    let mut repeated = vec![false; col_idx.len()];
    let mut stamp = vec![NONE; k];
    let mut count = vec![0usize; k];
    for i in 0..n {
        let neighbours = || (row_ptr[i]..row_ptr[i + 1]).filter(|&p| col_idx[p] != i);
        for p in neighbours() {
            let c = colors[col_idx[p]];
            if c == colors[i] {
                return Err(Error::InvalidColoring(format!("adjacent columns {i} and {} share color {c}", col_idx[p])));
            }
            if stamp[c] != i {
                stamp[c] = i;
                count[c] = 0;
            }
            count[c] += 1;
        }
        for p in neighbours() {
            repeated[p] = count[colors[col_idx[p]]] >= 2;
        }
    }
    for i in 0..n {
        for p in row_ptr[i]..row_ptr[i + 1] {
            let j = col_idx[p];
            if j != i && repeated[p] && repeated[mirror[p]] {
                // Both witnesses exist: another neighbour of i colored like j, and
                // another neighbour of j colored like i.
                let other = |row: usize, like: usize, not: usize| {
                    pattern.row(row).iter().copied().find(|&x| x != row && x != not && colors[x] == colors[like])
                };
                let a = other(i, j, j).expect("repeated color has a second vertex");
                let d = other(j, i, i).expect("repeated color has a second vertex");
                let (ca, cb) = (colors[a], colors[i]);
                return Err(Error::InvalidColoring(format!(
                    "path {a} – {i} – {j} – {d} alternates colors {ca} and {cb}"
                )));
            }
        }
    }
    Ok(())
}

/// `Some(n)` when `pattern` is square, dense and not empty: its adjacency graph is the
/// complete graph on `n` vertices.
fn complete_graph(pattern: &Pattern) -> Option<usize> {
    let n = pattern.ncols();
    (pattern.is_dense() && pattern.nrows() == n && n > 0).then_some(n)
}

/// For every stored entry `(i, j)`, the position of `(j, i)`; the error of
/// [`color_star`] when the pattern is not square or not structurally symmetric.
fn mirror_positions(pattern: &Pattern) -> Result<Vec<usize>> {
    if pattern.nrows() != pattern.ncols() {
        return Err(Error::DimensionMismatch {
            what: "pattern columns (star coloring needs a square pattern)",
            expected: pattern.nrows(),
            found: pattern.ncols(),
        });
    }
    pattern
        .entries()
        .map(|(i, j)| {
            pattern.position(j, i).ok_or_else(|| Error::InvalidSetting {
                name: "pattern",
                value: format!("entry ({i}, {j}) without ({j}, {i})"),
                reason: "star coloring needs a structurally symmetric pattern",
            })
        })
        .collect()
}

/// The order of the columns on the adjacency graph: the shared orderings of
/// [`order`](super::order) run on a bipartite graph whose nets are the edges, so that
/// two columns share a net exactly when they are adjacent.
fn adjacency_order(pattern: &Pattern, ordering: Ordering) -> Vec<usize> {
    let n = pattern.ncols();
    if ordering == Ordering::Natural {
        return (0..n).collect();
    }
    let mut row_ptr = vec![0];
    let mut col_idx = Vec::new();
    for (i, j) in pattern.entries().filter(|&(i, j)| i < j) {
        col_idx.extend([i, j]);
        row_ptr.push(col_idx.len());
    }
    let edges = Pattern::from_csr(row_ptr.len() - 1, n, row_ptr, col_idx).expect("edges of a valid pattern");
    let incidence = edges.transpose();
    vertex_order(&Bipartite::new(&edges, &incidence), ordering)
}

/// Algorithm 4.1 of Gebremedhin, Tarafdar, Manne and Pothen (2007) on the adjacency
/// graph of a symmetric pattern, visiting the columns in `order`.
fn greedy_star(pattern: &Pattern, mirror: &[usize], order: &[usize]) -> Coloring {
    let n = pattern.ncols();
    let (row_ptr, col_idx) = pattern.csr();
    let (row_ptr, col_idx) = (&*row_ptr, &*col_idx);
    // The positions of the neighbours of v (diagonal excluded).
    let neighbours = |v: usize| (row_ptr[v]..row_ptr[v + 1]).filter(move |&p| col_idx[p] != v);
    let mut colors = vec![NONE; n];
    // forbidden[c] == v: v may not take color c.
    let mut forbidden: Vec<usize> = Vec::new();
    // first_neighbour[c] == (v, p): col_idx[p] is the first neighbour of v seen with
    // color c (p is its position in row v).
    let mut first_neighbour: Vec<(usize, usize)> = Vec::new();
    // treated[w] == v: the colors of w's neighbours are already forbidden for v.
    let mut treated = vec![NONE; n];
    // star[p]: the star of the edge at position p (both positions of an edge agree).
    let mut star = vec![NONE; col_idx.len()];
    // hub[s]: the center of star s, NONE while s is a single edge.
    let mut hub: Vec<usize> = Vec::new();
    let mut num_colors = 0;

    for &v in order {
        // Forbids the colors of w's neighbours, once per v.
        let mut treat = |w: usize, forbidden: &mut Vec<usize>| {
            if treated[w] == v {
                return;
            }
            for p in neighbours(w) {
                let c = colors[col_idx[p]];
                if c != NONE {
                    forbidden[c] = v;
                }
            }
            treated[w] = v;
        };
        for p in neighbours(v) {
            let w = col_idx[p];
            let cw = colors[w];
            if cw == NONE {
                continue;
            }
            forbidden[cw] = v;
            let (u, q_at) = first_neighbour[cw];
            if u == v {
                // v has two neighbours colored cw: it would be the middle of a path.
                treat(col_idx[q_at], &mut forbidden);
                treat(w, &mut forbidden);
            } else {
                first_neighbour[cw] = (v, p);
                for r in neighbours(w) {
                    let x = col_idx[r];
                    if x == v || colors[x] == NONE {
                        continue;
                    }
                    debug_assert_ne!(star[r], NONE, "an edge between colored vertices has a star");
                    if hub[star[r]] == x {
                        forbidden[colors[x]] = v;
                    }
                }
            }
        }
        let c = forbidden.iter().position(|&f| f != v).unwrap_or(num_colors);
        if c == num_colors {
            num_colors += 1;
            forbidden.push(NONE);
            first_neighbour.push((NONE, 0));
        }
        colors[v] = c;

        for p in neighbours(v) {
            let w = col_idx[p];
            let cw = colors[w];
            if cw == NONE {
                continue;
            }
            let s = if let Some(r) = neighbours(w).find(|&r| col_idx[r] != v && colors[col_idx[r]] == c) {
                // w has another neighbour of v's color: w is the hub.
                let s = star[r];
                hub[s] = w;
                s
            } else {
                match first_neighbour[cw] {
                    // v has another neighbour of w's color (seen first): v is the hub.
                    (u, q_at) if u == v && q_at != p => {
                        let s = star[q_at];
                        hub[s] = v;
                        s
                    }
                    _ => {
                        hub.push(NONE);
                        hub.len() - 1
                    }
                }
            };
            star[p] = s;
            star[mirror[p]] = s;
        }
    }
    Coloring { colors, num_colors }
}

/// The direct recovery map of a star coloring: `(i, color(j))` when `color(j)` occurs
/// once in row `i`, else `(j, color(i))`.
fn direct_reads(pattern: &Pattern, coloring: &Coloring) -> Vec<DirectRead> {
    let colors = coloring.colors();
    let k = coloring.num_colors();
    let mut stamp = vec![NONE; k];
    let mut count = vec![0usize; k];
    let mut reads = Vec::with_capacity(pattern.nnz());
    for i in 0..pattern.nrows() {
        let row = pattern.row(i);
        for &j in row {
            let c = colors[j];
            if stamp[c] != i {
                stamp[c] = i;
                count[c] = 0;
            }
            count[c] += 1;
        }
        reads.extend(row.iter().map(|&j| {
            if count[colors[j]] == 1 {
                DirectRead { row: i, color: colors[j] }
            } else {
                DirectRead { row: j, color: colors[i] }
            }
        }));
    }
    reads
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coloring::order::tests::shuffled;

    #[test]
    fn complete_graphs_color_and_check_as_the_general_algorithm_does() {
        for n in 1..8 {
            let p = Pattern::dense(n, n);
            let mirror = mirror_positions(&p).unwrap();
            for o in Ordering::ALL {
                let general = greedy_star(&p, &mirror, &adjacency_order(&p, o));
                assert_eq!(color_star(&p, o).unwrap().coloring(), &general, "n = {n}, {o}");
            }
            for seed in 0..20 {
                // Colors with repeats: both checks name the same conflict.
                let colors: Vec<usize> = shuffled(n, seed).into_iter().map(|c| c % (n / 2 + 1)).collect();
                let c = Coloring::new(colors);
                assert_eq!(check_distinct(&c), check_paths(&p, &mirror, &c), "n = {n}, {:?}", c.colors());
            }
        }
    }
}
