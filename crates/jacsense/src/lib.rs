//! jacsense: Jacobians of blackbox functions from few calls.
#![warn(missing_docs)]

pub mod coloring;
pub mod error;
pub mod pattern;

pub use coloring::{Coloring, Ordering};
pub use error::{Error, Result};
pub use pattern::{MatrixMarketField, Pattern, SparseMatrix, read_matrix_market, write_matrix_market};
