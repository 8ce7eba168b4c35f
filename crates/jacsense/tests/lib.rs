//! Integration tests, grouped into one binary to keep link time down.

mod coloring;
mod decode;
mod fuzz;
mod sensing;
mod sparse;
mod structure;
