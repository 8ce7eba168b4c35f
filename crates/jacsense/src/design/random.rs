//! Random design: `k` directions with i.i.d. Gaussian or Rademacher entries. Any `ρᵢ`
//! columns of a `k × n` Gaussian matrix with `k ≥ ρᵢ` are linearly independent with
//! probability one, so every row is determined by `k ≥ ρ_max` calls, however large the
//! coloring number is.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

use super::{Directions, RandomDistribution};

/// `k` random directions in `Rⁿ`, reproducible from `seed`, nonzero only on `columns`
/// (ascending; `None`: every coordinate). The entries of every coordinate are drawn in
/// turn and those of other coordinates dropped, so the directions on `columns` are those
/// of `columns: None`: leaving out coordinates no row sees changes no decoded value.
pub(crate) fn random_directions(
    n: usize,
    columns: Option<Vec<usize>>,
    k: usize,
    distribution: RandomDistribution,
    seed: u64,
) -> Directions {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draw = || match distribution {
        RandomDistribution::Gaussian => rng.sample::<f64, _>(StandardNormal),
        RandomDistribution::Rademacher => {
            if rng.random::<bool>() {
                1.0
            } else {
                -1.0
            }
        }
    };
    let values = match &columns {
        None => (0..n * k).map(|_| draw()).collect(),
        Some(cols) => {
            let mut keep = vec![false; n];
            cols.iter().for_each(|&c| keep[c] = true);
            let mut values = Vec::with_capacity(cols.len() * k);
            for kept in keep {
                for _ in 0..k {
                    let v = draw();
                    if kept {
                        values.push(v);
                    }
                }
            }
            values
        }
    };
    Directions::Dense { k, columns, values }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_on_some_columns_are_those_of_all_columns_there() {
        let coefficients = |d: &Directions, c: usize| {
            let mut v = Vec::new();
            d.for_each_in_coordinate(c, |t, coef| v.push((t, coef)));
            v
        };
        let all = random_directions(6, None, 3, RandomDistribution::Gaussian, 7);
        let some = random_directions(6, Some(vec![1, 4]), 3, RandomDistribution::Gaussian, 7);
        for c in 0..6 {
            let expected = if [1, 4].contains(&c) { coefficients(&all, c) } else { Vec::new() };
            assert_eq!(coefficients(&some, c), expected, "column {c}");
        }
        let mut moved = Vec::new();
        some.for_each_in_direction(2, |c, _| moved.push(c));
        assert_eq!(moved, vec![1, 4]);
    }
}
