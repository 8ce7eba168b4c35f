//! `jacsense.Error`: bad input, with the core's message naming the value at fault.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

create_exception!(
    _jacsense,
    Error,
    PyValueError,
    "Bad input to jacsense: the message names the offending value (the Rust core's error)."
);

/// The core's error as a Python `jacsense.Error`.
pub fn to_py(e: jacsense::Error) -> PyErr {
    Error::new_err(e.to_string())
}

/// A `jacsense.Error` with this message.
pub fn message(text: impl Into<String>) -> PyErr {
    Error::new_err(text.into())
}
