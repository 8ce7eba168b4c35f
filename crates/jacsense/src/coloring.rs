//! TEMPORARY stand-in for the coloring module being written on branch `coloring`.
#![allow(missing_docs)]
use crate::error::{Error, Result};
use crate::pattern::Pattern;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coloring {
    colors: Vec<usize>,
    num_colors: usize,
}
impl Coloring {
    pub fn new(colors: Vec<usize>) -> Coloring {
        let num_colors = colors.iter().max().map_or(0, |c| c + 1);
        Coloring { colors, num_colors }
    }
    pub fn num_colors(&self) -> usize {
        self.num_colors
    }
    pub fn colors(&self) -> &[usize] {
        &self.colors
    }
    pub fn color(&self, v: usize) -> usize {
        self.colors[v]
    }
}
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ordering {
    Natural,
    #[default]
    LargestFirst,
    SmallestLast,
    IncidenceDegree,
    DynamicLargestFirst,
}
impl Ordering {
    pub const ALL: [Ordering; 5] = [
        Ordering::Natural,
        Ordering::LargestFirst,
        Ordering::SmallestLast,
        Ordering::IncidenceDegree,
        Ordering::DynamicLargestFirst,
    ];
    pub fn name(&self) -> &'static str {
        "natural"
    }
}
pub fn color_columns(pattern: &Pattern, _ordering: Ordering) -> Coloring {
    let t = pattern.transpose();
    let mut colors = vec![usize::MAX; pattern.ncols()];
    let mut forbidden = vec![usize::MAX; pattern.ncols() + 1];
    for v in 0..pattern.ncols() {
        for &r in t.row(v) {
            for &w in pattern.row(r) {
                if colors[w] != usize::MAX {
                    forbidden[colors[w]] = v;
                }
            }
        }
        colors[v] = (0..).find(|&c| forbidden[c] != v).unwrap();
    }
    Coloring::new(colors)
}
pub fn best_column_coloring(pattern: &Pattern) -> (Ordering, Coloring) {
    (Ordering::Natural, color_columns(pattern, Ordering::Natural))
}
pub fn check_column_coloring(pattern: &Pattern, coloring: &Coloring) -> Result<()> {
    if coloring.colors.len() != pattern.ncols() {
        return Err(Error::DimensionMismatch {
            what: "coloring length",
            expected: pattern.ncols(),
            found: coloring.colors.len(),
        });
    }
    let mut seen = vec![usize::MAX; coloring.num_colors];
    for i in 0..pattern.nrows() {
        for &c in pattern.row(i) {
            let k = coloring.colors[c];
            if seen[k] == i {
                return Err(Error::InvalidColoring(format!("two columns of row {i} share color {k}")));
            }
            seen[k] = i;
        }
    }
    Ok(())
}
pub fn lower_bound(pattern: &Pattern) -> usize {
    pattern.max_row_count()
}
