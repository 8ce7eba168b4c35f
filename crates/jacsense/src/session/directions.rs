//! Random directions orthonormalised across rounds (DESIGN.md §9): every round's
//! Gaussian block is made orthogonal to the directions of the rounds before it and
//! orthonormal within itself (two passes of block Gram–Schmidt, then Householder QR:
//! "twice is enough", Giraud, Langou & Rozložník 2005). If `J` turns out dense, the
//! first `n` directions of a session are an orthogonal basis — the calls already made
//! complete it and none is wasted. Directions are scaled to norm `√n`, so that each
//! coordinate moves by about its own step, as a Gaussian direction does (DESIGN.md §8).
//! Beyond `n` directions there is nothing left to be orthogonal to: those are plain
//! Gaussian.

use faer::{Accum, Mat, Par};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

use crate::design::Directions;

/// The coefficients of dense directions on every coordinate as an `n × k` matrix.
pub(crate) fn as_matrix(directions: &Directions, n: usize) -> Mat<f64> {
    let k = directions.len();
    let mut d = Mat::<f64>::zeros(n, k);
    for c in 0..n {
        directions.for_each_in_coordinate(c, |t, coef| d[(c, t)] = coef);
    }
    d
}

/// `k` directions in `Rⁿ` orthogonal to the columns of `previous` (`n × K`, mutually
/// orthogonal, any norm; only the first `min(K, n)` count), reproducible from `seed`.
pub(crate) fn orthonormal_round(n: usize, previous: &[Mat<f64>], k: usize, seed: u64) -> Directions {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut g = Mat::<f64>::from_fn(n, k, |_, _| rng.sample::<f64, _>(StandardNormal));
    // The basis so far, normalised.
    let earlier: usize = previous.iter().map(Mat::ncols).sum();
    let basis_len = earlier.min(n);
    let mut q = Mat::<f64>::zeros(n, basis_len);
    let mut col = 0;
    'outer: for block in previous {
        for j in 0..block.ncols() {
            if col == basis_len {
                break 'outer;
            }
            let norm = block.col(j).norm_l2();
            if norm > 0.0 {
                let scaled = block.col(j) / norm;
                q.col_mut(col).copy_from(&scaled);
            }
            col += 1;
        }
    }
    let fresh = k.min(n - basis_len);
    if fresh > 0 {
        let mut block = g.get(.., ..fresh).to_owned();
        for _ in 0..2 {
            if basis_len == 0 {
                break;
            }
            let mut h = Mat::<f64>::zeros(basis_len, fresh);
            faer::linalg::matmul::matmul(h.as_mut(), Accum::Replace, q.transpose(), block.as_ref(), 1.0, Par::Seq);
            faer::linalg::matmul::matmul(block.as_mut(), Accum::Add, q.as_ref(), h.as_ref(), -1.0, Par::Seq);
        }
        let thin = block.qr().compute_thin_Q();
        let scale = (n as f64).sqrt();
        for j in 0..fresh {
            for c in 0..n {
                g[(c, j)] = thin[(c, j)] * scale;
            }
        }
    }
    let mut values = vec![0.0; n * k];
    for c in 0..n {
        for t in 0..k {
            values[c * k + t] = g[(c, t)];
        }
    }
    Directions::Dense { k, columns: None, values }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_complete_an_orthogonal_basis() {
        let n = 12;
        let mut previous = Vec::new();
        for (r, k) in [3, 4, 5, 2].into_iter().enumerate() {
            let d = as_matrix(&orthonormal_round(n, &previous, k, r as u64), n);
            previous.push(d);
        }
        let all: Vec<_> = previous.iter().flat_map(|b| (0..b.ncols()).map(move |j| b.col(j).to_owned())).collect();
        assert_eq!(all.len(), 14);
        // The first n directions are orthogonal with norm √n.
        for a in 0..n {
            for b in 0..n {
                let dot = all[a].transpose() * &all[b];
                let expected = if a == b { n as f64 } else { 0.0 };
                assert!((dot - expected).abs() < 1e-10 * n as f64, "{a} {b} {dot}");
            }
        }
    }
}
