mod asktell;
mod coupled;
mod dense;
mod designs;
mod errors;
mod faults;
mod hessian;
mod noise;
mod pattern_io;
mod planner;
mod robust;
mod saved;
mod sessions;
mod status;
mod track;
mod vjp;

use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use jacsense::{Blackbox, CallError};

pub use jacsense_problems::relative_error as rel_err;

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
