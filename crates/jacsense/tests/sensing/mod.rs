mod asktell;
mod designs;
mod errors;
mod faults;
mod pattern_io;

use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use jacsense::{Blackbox, CallError, SparseMatrix};

/// Relative Frobenius error of `est` against `truth` (entries outside either pattern
/// count as zero there; a NaN anywhere makes the error NaN).
pub fn rel_err(est: &SparseMatrix, truth: &SparseMatrix) -> f64 {
    let (m, n) = (truth.pattern().nrows(), truth.pattern().ncols());
    assert_eq!((est.pattern().nrows(), est.pattern().ncols()), (m, n));
    let mut diff = 0.0;
    for i in 0..m {
        let mut cols: Vec<usize> = est.pattern().row(i).iter().chain(truth.pattern().row(i)).copied().collect();
        cols.sort_unstable();
        cols.dedup();
        for j in cols {
            let d = est.get(i, j) - truth.get(i, j);
            diff += d * d;
        }
    }
    diff.sqrt() / truth.norm_frobenius()
}

/// Counts every call of the blackbox it wraps.
pub struct Counted<B> {
    pub inner: B,
    pub calls: AtomicUsize,
}

impl<B> Counted<B> {
    pub fn new(inner: B) -> Self {
        Counted { inner, calls: AtomicUsize::new(0) }
    }
    pub fn count(&self) -> usize {
        self.calls.load(AtomicOrdering::SeqCst)
    }
}

impl<B: Blackbox> Blackbox for Counted<B> {
    fn dims(&self) -> (usize, usize) {
        self.inner.dims()
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        self.calls.fetch_add(1, AtomicOrdering::SeqCst);
        self.inner.call(x, y)
    }
}
