//! Random design: `k` directions with i.i.d. Gaussian or Rademacher entries. Any `ρᵢ`
//! columns of a `k × n` Gaussian matrix with `k ≥ ρᵢ` are linearly independent with
//! probability one, so every row is determined by `k ≥ ρ_max` calls, however large the
//! coloring number is.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

use super::{Directions, RandomDistribution};

/// `k` random directions in `Rⁿ`, reproducible from `seed`, nonzero only on `columns`
/// (ascending; `None`: every coordinate). The entries are drawn column by column, so
/// the directions on `columns` are those of `random_directions(columns.len(), …)`.
pub(crate) fn random_directions(
    n: usize,
    columns: Option<Vec<usize>>,
    k: usize,
    distribution: RandomDistribution,
    seed: u64,
) -> Directions {
    let mut rng = StdRng::seed_from_u64(seed);
    let count = columns.as_ref().map_or(n, Vec::len);
    let values = (0..count * k)
        .map(|_| match distribution {
            RandomDistribution::Gaussian => rng.sample::<f64, _>(StandardNormal),
            RandomDistribution::Rademacher => {
                if rng.random::<bool>() {
                    1.0
                } else {
                    -1.0
                }
            }
        })
        .collect();
    Directions::Dense { k, columns, values }
}
