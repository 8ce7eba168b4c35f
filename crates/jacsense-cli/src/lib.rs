//! # jacsense-cli: the `jacsense` command
//!
//! Makes the [`jacsense`] library usable on any program that reads numbers and writes
//! numbers: `jacsense estimate -- PROGRAM` runs the program as long-lived workers (one
//! line of `n` numbers in, one line of `m` numbers out, per call), with timeouts,
//! restarts and erasures for failed calls; `jacsense ask` / `jacsense tell` hand the
//! points to any cluster scheduler through files; `jacsense vjp`, `color`, `plan` and
//! `demo` expose the rest of the library. The modules:
//!
//! - [`workers`]: the protocol, faults and the parallel call loop;
//! - [`formats`]: `.mtx`, `.npy`, `.json`, `.csv` for vectors, patterns and matrices;
//! - [`options`]: command-line structure and design options → `Structure`, `Settings`;
//! - [`estimate`], [`vjp`], [`asktell`], [`color`], [`plan`], [`demo`]: the subcommands;
//! - [`report`]: the `--report` JSON and the summary; [`error`]: exit codes.

pub mod asktell;
pub mod cli;
pub mod color;
pub mod demo;
pub mod error;
pub mod estimate;
pub mod formats;
pub mod options;
pub mod plan;
pub mod report;
pub mod session;
pub mod vjp;
pub mod workers;
