//! Column coloring: the partial distance-2 coloring behind Curtis–Powell–Reid designs.
//!
//! Greedy first-fit in a given vertex order (Gebremedhin, Manne, Pothen, SIAM Review
//! 2005, Algorithm 3.1 on the bipartite graph): each column takes the smallest color not
//! yet taken by a column that shares a row with it. The colors seen are stamped in a
//! `forbidden` array with the current column, so nothing is cleared between columns and
//! the work is `Σ_rows |row|²` plus the first-fit scans.
//!
//! A row that holds every column (`ρ_max = n`, always so when nothing is known about
//! `J`) settles the count: every ordering needs `n` colors, and the `k`-th column
//! visited takes color `k`. Both the greedy pass and the search over orderings answer
//! it in `O(m + n)` instead of `O(m·n²)`.

use super::order::vertex_order;
use super::recolor::{Budget, iterated_greedy};
use super::{Bipartite, Coloring, Ordering};
use crate::pattern::Pattern;

/// Colors the columns so that two columns share a color only if no row holds both
/// (structurally orthogonal groups), visiting them in `ordering`.
///
/// ```
/// use jacsense::{Pattern, coloring::{Ordering, color_columns, check_column_coloring}};
/// let p = Pattern::banded(50, 50, 2, 2); // pentadiagonal
/// let c = color_columns(&p, Ordering::Natural);
/// assert_eq!(c.num_colors(), 5);
/// assert_eq!(c.color(7), 2);
/// check_column_coloring(&p, &c)?;
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn color_columns(pattern: &Pattern, ordering: Ordering) -> Coloring {
    let transpose = pattern.transpose();
    color_vertices(&Bipartite::new(pattern, &transpose), ordering)
}

/// The smallest number of colors any valid column coloring can have as far as single
/// rows tell: `ρ_max`, the largest row count, since the columns of one row need
/// distinct colors.
///
/// ```
/// use jacsense::{Pattern, coloring::lower_bound};
/// assert_eq!(lower_bound(&Pattern::banded(10, 10, 1, 1)), 3);
/// assert_eq!(lower_bound(&Pattern::dense(0, 4)), 0);
/// ```
pub fn lower_bound(pattern: &Pattern) -> usize {
    pattern.max_row_count()
}

/// Colors the columns with every [`Ordering`], keeps the coloring with the fewest
/// colors (ties go to the first ordering in [`Ordering::ALL`]), and improves it by
/// iterated greedy ([`recolor_columns`](super::recolor_columns)). Iterated greedy
/// also starts from the smallest-last coloring when that is not the one kept, and the
/// fewer colors win (ties to the kept ordering); the ordering returned is the one the
/// winning recoloring started from.
///
/// The recoloring budget is adaptive: per start, passes stop after one round of class
/// orders (six passes) without fewer colors, and after at most 30 passes or about
/// 10⁸ first-fit steps (`Σ_rows |row|²` per pass), whichever comes first.
///
/// When the lower bound already equals the upper bound — a row holds every column,
/// so `χ = n` — there is nothing to search: the natural coloring (one color per column,
/// the one every ordering ties with) is returned in `O(m + n)`.
///
/// ```
/// use jacsense::{Pattern, coloring::{Ordering, best_column_coloring, check_column_coloring, color_columns, lower_bound}};
/// let p = Pattern::banded(20, 20, 1, 1);
/// let (ordering, c) = best_column_coloring(&p);
/// assert_eq!(ordering, Ordering::Natural);
/// assert_eq!(c.num_colors(), lower_bound(&p));
/// // Never more colors than the best greedy ordering, and valid.
/// let rows: Vec<Vec<usize>> = (0..300).map(|i| vec![(i * 7) % 200, (i * 13 + 5) % 200, (i * i) % 200]).collect();
/// let q = Pattern::from_rows(200, &rows)?;
/// let greedy = Ordering::ALL.map(|o| color_columns(&q, o).num_colors());
/// let (_, c) = best_column_coloring(&q);
/// assert!(c.num_colors() <= *greedy.iter().min().unwrap());
/// check_column_coloring(&q, &c)?;
/// // Nothing known about J: n colors at once, however large.
/// let (ordering, c) = best_column_coloring(&Pattern::dense(100_000, 100_000));
/// assert_eq!((ordering, c.num_colors()), (Ordering::Natural, 100_000));
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn best_column_coloring(pattern: &Pattern) -> (Ordering, Coloring) {
    if lower_bound(pattern) == pattern.ncols() {
        return (Ordering::Natural, Coloring::new((0..pattern.ncols()).collect()));
    }
    let transpose = pattern.transpose();
    let g = Bipartite::new(pattern, &transpose);
    let mut best: Option<(Ordering, Coloring)> = None;
    let mut smallest_last = None;
    for ordering in Ordering::ALL {
        let coloring = color_vertices(&g, ordering);
        if ordering == Ordering::SmallestLast {
            smallest_last = Some(coloring.clone());
        }
        if best.as_ref().is_none_or(|(_, b)| coloring.num_colors() < b.num_colors()) {
            best = Some((ordering, coloring));
        }
    }
    let (ordering, start) = best.expect("Ordering::ALL is not empty");
    let budget = Budget::default_for(&g);
    let recolored = iterated_greedy(&g, &start, budget);
    if ordering == Ordering::SmallestLast {
        return (ordering, recolored);
    }
    // Smallest-last colorings are a known good start for iterated greedy (on the 2D
    // Laplacian they are the only start that left 7 colors in our runs).
    let from_smallest_last = iterated_greedy(&g, &smallest_last.expect("ALL has smallest-last"), budget);
    if from_smallest_last.num_colors() < recolored.num_colors() {
        (Ordering::SmallestLast, from_smallest_last)
    } else {
        (ordering, recolored)
    }
}

/// Greedy coloring of the vertices of `g` in `ordering`.
pub(crate) fn color_vertices(g: &Bipartite<'_>, ordering: Ordering) -> Coloring {
    greedy(g, &vertex_order(g, ordering))
}

/// First-fit coloring of the vertices of `g` visited in `order` (a permutation).
pub(crate) fn greedy(g: &Bipartite<'_>, order: &[usize]) -> Coloring {
    if g.has_full_net() { by_position(order) } else { first_fit(g, order) }
}

/// First-fit when some net holds every vertex: each vertex meets all those visited
/// before it, whose colors are `0..k`, so the `k`-th visited takes color `k`.
fn by_position(order: &[usize]) -> Coloring {
    let mut colors = vec![0; order.len()];
    for (k, &v) in order.iter().enumerate() {
        colors[v] = k;
    }
    Coloring { colors, num_colors: order.len() }
}

/// First-fit by scanning the nets of every vertex: `O(Σ_nets |net|²)`.
fn first_fit(g: &Bipartite<'_>, order: &[usize]) -> Coloring {
    const UNCOLORED: usize = usize::MAX;
    let n = g.num_vertices();
    debug_assert_eq!(order.len(), n);
    let mut colors = vec![UNCOLORED; n];
    // forbidden[c] == v: color c is taken by a neighbour of v. A vertex has at most
    // `num_colors` distinct neighbour colors, so first-fit never looks past
    // `num_colors` and the array grows by one slot per new color.
    let mut forbidden: Vec<usize> = Vec::new();
    let mut num_colors = 0;
    for &v in order {
        for &net in g.incidence.row(v) {
            for &w in g.nets.row(net) {
                let c = colors[w];
                if c != UNCOLORED {
                    forbidden[c] = v;
                }
            }
        }
        let c = forbidden.iter().position(|&f| f != v).unwrap_or(num_colors);
        if c == num_colors {
            num_colors += 1;
            forbidden.push(UNCOLORED);
        }
        colors[v] = c;
    }
    Coloring { colors, num_colors }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coloring::order::tests::shuffled;

    #[test]
    fn a_full_net_colors_by_position_as_first_fit_does() {
        // Arrowhead: row 0 holds every column; and the dense pattern.
        let n = 12;
        let mut rows = vec![(0..n).collect::<Vec<_>>()];
        rows.extend((1..n).map(|i| vec![0, i]));
        for p in [Pattern::from_rows(n, &rows).unwrap(), Pattern::dense(3, n)] {
            let t = p.transpose();
            let g = Bipartite::new(&p, &t);
            assert!(g.has_full_net());
            for seed in 0..5 {
                let order = shuffled(n, seed);
                assert_eq!(by_position(&order), first_fit(&g, &order));
            }
        }
    }
}
