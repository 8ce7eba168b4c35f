//! Integration tests, grouped into one binary to keep link time down.

mod coloring;
mod sensing;
mod sparse;
