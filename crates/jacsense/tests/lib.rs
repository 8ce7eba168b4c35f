//! Integration tests, grouped into one binary to keep link time down.

mod sensing;
