//! Colored design (Curtis, Powell & Reid 1974): one direction per color of a column
//! coloring, the sum of the unit vectors of that color. Columns of one color share no
//! row, so every entry is read off from the measurement of its column's color.

use super::Directions;
use crate::coloring::Coloring;

/// The `χ` directions of a column coloring.
pub(crate) fn colored_directions(coloring: &Coloring) -> Directions {
    let mut members = vec![Vec::new(); coloring.num_colors()];
    for (c, &color) in coloring.colors().iter().enumerate() {
        members[color].push(c);
    }
    Directions::Grouped { group: coloring.colors().to_vec(), members }
}
