//! Rainbow design: colored random directions `d_t = S g_t` (DESIGN.md §3).
//!
//! With a valid column coloring `S ∈ {0,1}^{n×χ}`, `Y = (J S) G`: row `i` of the
//! compressed Jacobian `B = J S` has at most `ρᵢ` nonzeros, at the colors of its
//! columns, and every row sees the same small Gaussian matrix `G` (χ × k) restricted
//! to those colors. Random signs per column make the directions of columns sharing a
//! color independent across rows' neighbourhoods, as in the rainbow construction of
//! Choromanski & Sindhwani (2017).

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

use super::Directions;
use crate::coloring::Coloring;

/// `k` rainbow directions for `coloring`, reproducible from `seed`.
pub(crate) fn rainbow_directions(coloring: &Coloring, k: usize, seed: u64) -> Directions {
    let mut rng = StdRng::seed_from_u64(seed);
    let g = (0..coloring.num_colors() * k).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
    let sign = (0..coloring.len()).map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 }).collect();
    Directions::Rainbow { k, color: coloring.colors().to_vec(), sign, g }
}
