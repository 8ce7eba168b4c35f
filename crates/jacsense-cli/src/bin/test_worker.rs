//! Worker programs for the integration tests and the worker-overhead benchmark of the
//! `jacsense` command. Not meant for users.
//!
//! `jacsense-test-worker MODE [EVERY]` reads lines of numbers on stdin and answers each
//! with one line. The function is the Broyden tridiagonal map
//! `f_i = (3 − 2x_i) x_i − x_{i−1} − 2 x_{i+1} + 1` (m = n), except in mode `identity`
//! (`f(x) = x`, the trivial worker of the benchmark). In a fault mode, the process
//! misbehaves on its `EVERY`-th request (and every `EVERY`-th after that); when
//! `JACSENSE_CALL` is set (per-call mode, one request per process) it misbehaves when
//! `JACSENSE_CALL mod EVERY = EVERY − 1`, the same calls as one long-lived worker.
//!
//! Modes: `broyden`, `identity`, `crash` (exit status 3), `hang` (sleep an hour),
//! `garbage` (a non-number), `wrong-count` (m − 1 numbers), `close` (exit 0 without
//! answering), `nan` (NaN values), `spoil` (wrong numbers: f(x) + 1000, for outlier
//! decoding); `slow MICROS` answers like `identity` after
//! sleeping `MICROS` µs (a program that takes that long per call).

use std::io::{BufRead, Write};
use std::time::Duration;

fn broyden(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..n)
        .map(|i| {
            let left = if i > 0 { x[i - 1] } else { 0.0 };
            let right = if i + 1 < n { x[i + 1] } else { 0.0 };
            (3.0 - 2.0 * x[i]) * x[i] - left - 2.0 * right + 1.0
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("broyden", String::as_str).to_string();
    let every: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let call: Option<u64> = std::env::var("JACSENSE_CALL").ok().and_then(|s| s.parse().ok());
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    let mut requests = 0u64;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        requests += 1;
        let x = jacsense_cli::formats::parse_numbers(&line).expect("jacsense sends numbers");
        let fault = every > 0
            && mode != "slow"
            && match call {
                Some(c) => c % every == every - 1,
                None => requests.is_multiple_of(every),
            };
        if mode == "slow" {
            std::thread::sleep(Duration::from_micros(every));
        }
        let y = if mode == "identity" || mode == "slow" { x.clone() } else { broyden(&x) };
        let numbers = |y: &[f64]| {
            let mut line = String::with_capacity(24 * y.len());
            jacsense_cli::formats::write_numbers(&mut line, y);
            line
        };
        let answer = match (fault, mode.as_str()) {
            (true, "crash") => {
                eprintln!("test worker: crashing on request {requests}");
                std::process::exit(3);
            }
            (true, "hang") => {
                eprintln!("test worker: hanging on request {requests}");
                std::thread::sleep(Duration::from_secs(3600));
                return;
            }
            (true, "close") => return,
            (true, "garbage") => format!("banana {}", numbers(&y[1..])),
            (true, "wrong-count") => numbers(&y[1..]),
            (true, "nan") => numbers(&vec![f64::NAN; y.len()]),
            (true, "spoil") => numbers(&y.iter().map(|v| v + 1000.0).collect::<Vec<_>>()),
            _ => numbers(&y),
        };
        if writeln!(stdout, "{answer}").and_then(|()| stdout.flush()).is_err() {
            return;
        }
    }
}
