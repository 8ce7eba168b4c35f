//! # `jacsense._jacsense`: the Rust core behind the Python package
//!
//! A small PyO3 module holding the core's types; the pure-Python package around it
//! (`python/jacsense`) speaks numpy and scipy, calls the blackbox (per point, batched,
//! or through any executor) and carries the docstrings and type stubs. The flow is
//! the core's ask/tell: a [`scheme::PyScheme`] (the planner's decisions) makes a
//! [`scheme::PySession`] at a point, Python asks it for a round's points, evaluates them
//! however it likes, and tells the values back; `finish_round()` decodes with the GIL
//! released (and may ask for another round), `estimate()`
//! returns the Jacobian as CSR arrays with the status, diagnostics and the report of the
//! `jacsense` command (`jacsense_cli::report`, one schema for both).
//!
//! - [`spec`]: Python keywords → the core's `Structure` and `Settings`;
//! - [`scheme`]: `Scheme` and `Session` (Jacobians, in rounds);
//! - [`vjp`]: `VjpPlan` (the left action `vᵀJ`);
//! - [`color`]: colorings of a pattern alone;
//! - [`error`]: `jacsense.Error`, a `ValueError` carrying the core's messages.

pub mod color;
pub mod error;
pub mod scheme;
pub mod spec;
pub mod vjp;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _jacsense(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("Error", m.py().get_type::<error::Error>())?;
    m.add_class::<scheme::PyScheme>()?;
    m.add_class::<scheme::PySession>()?;
    m.add_class::<vjp::PyVjpPlan>()?;
    m.add_function(wrap_pyfunction!(color::color, m)?)?;
    Ok(())
}
