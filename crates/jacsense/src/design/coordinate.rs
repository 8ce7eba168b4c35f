//! Coordinate design: `d_t = e_t`, classical finite differences.

use super::Directions;

/// The `n` unit directions.
pub(crate) fn coordinate_directions(n: usize) -> Directions {
    Directions::Grouped { group: (0..n).collect(), members: (0..n).map(|c| vec![c]).collect() }
}
