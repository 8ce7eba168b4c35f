//! Validity checks for colorings from any source.
//!
//! A column coloring is valid when every row holds columns of distinct colors
//! (structural orthogonality, Curtis–Powell–Reid); a row coloring when every column
//! holds rows of distinct colors. One pass over the pattern with a per-color stamp of
//! the last row that used it: `O(nnz + num_colors)`; on a dense pattern, where the
//! colors must simply be distinct, `O(n + num_colors)`.

use super::Coloring;
use crate::error::{Error, Result};
use crate::pattern::Pattern;

/// Checks that no row holds two columns of the same color.
///
/// The error names the first conflict found, scanning rows in order.
///
/// ```
/// use jacsense::{Pattern, coloring::check_column_coloring};
/// use jacsense::coloring::{Coloring};
/// let p = Pattern::banded(4, 4, 1, 1);
/// assert!(check_column_coloring(&p, &Coloring::new(vec![0, 1, 2, 0])).is_ok());
/// let err = check_column_coloring(&p, &Coloring::new(vec![0, 1, 0, 2])).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid coloring: columns 0 and 2 share color 0 and both appear in row 1"
/// );
/// ```
pub fn check_column_coloring(pattern: &Pattern, coloring: &Coloring) -> Result<()> {
    check(pattern, pattern.ncols(), coloring, ["coloring length (columns)", "column", "columns", "row"])
}

/// Checks that no column holds two rows of the same color.
///
/// ```
/// use jacsense::{Pattern, coloring::check_row_coloring};
/// use jacsense::coloring::{Coloring};
/// let p = Pattern::from_rows(3, &[vec![0], vec![1, 2], vec![2]])?;
/// assert!(check_row_coloring(&p, &Coloring::new(vec![0, 0, 1])).is_ok());
/// let err = check_row_coloring(&p, &Coloring::new(vec![0, 1, 1])).unwrap_err();
/// assert_eq!(err.to_string(), "invalid coloring: rows 1 and 2 share color 1 and both appear in column 2");
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn check_row_coloring(pattern: &Pattern, coloring: &Coloring) -> Result<()> {
    check(&pattern.transpose(), pattern.nrows(), coloring, ["coloring length (rows)", "row", "rows", "column"])
}

/// Checks a coloring of the `num_vertices` columns of `nets`. `words` name the length,
/// a vertex, vertices, and a net in messages.
fn check(nets: &Pattern, num_vertices: usize, coloring: &Coloring, words: [&'static str; 4]) -> Result<()> {
    let [length, vertex, vertices, net] = words;
    if coloring.len() != num_vertices {
        return Err(Error::DimensionMismatch { what: length, expected: num_vertices, found: coloring.len() });
    }
    let k = coloring.num_colors();
    // Arrays below are per color: a color far above the vertex count (a saved plan or a
    // user's grouping can claim 10¹⁴) must not size them, and no coloring needs it.
    if k > num_vertices {
        return Err(Error::InvalidColoring(format!(
            "{k} colors for {num_vertices} {vertices}: color {} is above any a coloring needs",
            k - 1
        )));
    }
    if let Some((v, &c)) = coloring.colors().iter().enumerate().find(|&(_, &c)| c >= k) {
        return Err(Error::InvalidColoring(format!("{vertex} {v} has color {c} but the coloring has {k} colors")));
    }
    if nets.is_dense() && nets.nrows() > 0 {
        // Every net holds every vertex: the colors must be distinct, and the first
        // conflict is the first repeat in net 0.
        let mut first = vec![usize::MAX; k];
        for (v, &c) in coloring.colors().iter().enumerate() {
            if first[c] != usize::MAX {
                return Err(Error::InvalidColoring(format!(
                    "{vertices} {} and {v} share color {c} and both appear in {net} 0",
                    first[c]
                )));
            }
            first[c] = v;
        }
        return Ok(());
    }
    // seen[c] = (net, vertex): the last net that met color c, and the vertex there.
    let mut seen = vec![(usize::MAX, 0usize); k];
    for i in 0..nets.nrows() {
        for &v in nets.row(i) {
            let c = coloring.color(v);
            let (last_net, other) = seen[c];
            if last_net == i {
                return Err(Error::InvalidColoring(format!(
                    "{vertices} {other} and {v} share color {c} and both appear in {net} {i}"
                )));
            }
            seen[c] = (i, v);
        }
    }
    Ok(())
}
