//! Row coloring: the partial distance-2 coloring of the rows, for designs that measure
//! the left action `vᵀJ` (reverse mode) one group of rows at a time.
//!
//! The same greedy first-fit as [column coloring](super::column) on the bipartite graph
//! with the roles of rows and columns swapped (Gebremedhin, Manne, Pothen, SIAM Review
//! 2005, §3).

use super::column::color_vertices;
use super::{Bipartite, Coloring, Ordering};
use crate::pattern::Pattern;

/// Colors the rows so that two rows share a color only if no column holds both,
/// visiting them in `ordering` (taken on the row graph: degrees count rows sharing a
/// column).
///
/// ```
/// use jacsense::{Pattern, coloring::{Ordering, color_rows, check_row_coloring}};
/// // Arrowhead: the dense first column meets every row.
/// let mut rows = vec![(0..4).collect::<Vec<_>>()];
/// rows.extend((1..4).map(|i| vec![0, i]));
/// let p = Pattern::from_rows(4, &rows)?;
/// let c = color_rows(&p, Ordering::LargestFirst);
/// assert_eq!(c.num_colors(), 4);
/// check_row_coloring(&p, &c)?;
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn color_rows(pattern: &Pattern, ordering: Ordering) -> Coloring {
    let transpose = pattern.transpose();
    color_vertices(&Bipartite::new(&transpose, pattern), ordering)
}
