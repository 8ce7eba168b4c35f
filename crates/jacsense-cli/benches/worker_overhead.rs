//! Worker overhead: calls per second through the worker protocol against calling the
//! same function in process, measured in the same run.
//!
//! Run: `cargo bench -p jacsense-cli --bench worker_overhead`
//!
//! The trivial worker is `jacsense-test-worker identity` (f(x) = x, m = n): every call
//! formats n numbers, crosses two pipes, and parses n numbers on each side, so the time
//! per call is the protocol's cost. `slow 1000` sleeps 1 ms per call before answering
//! (a program that waits on something, not on these 2 cores): its efficiency is its
//! calls per second over W times those of the same 1 ms sleep in process, 100% when
//! the protocol costs nothing. Per-call mode starts a process per call.

use std::time::{Duration, Instant};

use jacsense_cli::workers::{Pool, Program, RequestFormat, RunOptions, run_calls};

const WORKER: &str = env!("CARGO_BIN_EXE_jacsense-test-worker");

fn pool(mode: &[&str], per_call: bool, workers: usize) -> Pool {
    let log = std::env::temp_dir().join(format!("jacsense-bench-{}.log", std::process::id()));
    let program = Program {
        program: WORKER.into(),
        args: mode.iter().map(|s| s.to_string()).collect(),
        per_call,
        timeout: Some(Duration::from_secs(60)),
        request: RequestFormat::Spaces,
    };
    Pool::new(program, workers, std::fs::File::create(log).expect("a log file"))
}

/// Calls per second of `calls` calls of n inputs through the pool.
fn through(pool: &Pool, n: usize, calls: usize) -> f64 {
    let options = RunOptions { max_failures: 1, progress: false, log: String::new(), label: String::new() };
    let point = |j: usize, x: &mut [f64]| {
        for (c, v) in x.iter_mut().enumerate() {
            *v = 1.0 + (j * n + c) as f64 * 1e-7;
        }
    };
    // Start the workers outside the timing.
    let warm: Vec<usize> = (0..pool.workers()).collect();
    run_calls(pool, &warm, n, Some(n), &point, &options, |_, _| {}).expect("warm-up calls");
    let list: Vec<usize> = (0..calls).collect();
    let mut sum = 0.0;
    let start = Instant::now();
    let stats = run_calls(pool, &list, n, Some(n), &point, &options, |_, y| sum += y.expect("no failure")[0])
        .expect("no failure");
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(stats.failed, 0);
    std::hint::black_box(sum);
    calls as f64 / seconds
}

/// Calls per second of the same function in process.
fn in_process(n: usize, calls: usize) -> f64 {
    let mut x = vec![0.0; n];
    let mut y = vec![0.0; n];
    let start = Instant::now();
    for j in 0..calls {
        for (c, v) in x.iter_mut().enumerate() {
            *v = 1.0 + (j * n + c) as f64 * 1e-7;
        }
        y.copy_from_slice(std::hint::black_box(&x));
        std::hint::black_box(&y);
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!("Worker overhead ({cores} cores). Calls per second (µs per call):\n");
    println!("| n | in process | W = 1 | W = 2 | per-call, W = 1 | per-call, W = 2 |");
    println!("|---|---|---|---|---|---|");
    let cell = |rate: f64| format!("{rate:.0} ({:.1} µs)", 1e6 / rate);
    for (n, calls, spawned) in [(10, 20_000, 400), (1_000, 5_000, 200), (10_000, 1_000, 100)] {
        let local = in_process(n, calls * 10);
        let w1 = through(&pool(&["identity"], false, 1), n, calls);
        let w2 = through(&pool(&["identity"], false, 2), n, calls);
        let p1 = through(&pool(&["identity"], true, 1), n, spawned);
        let p2 = through(&pool(&["identity"], true, 2), n, spawned);
        println!("| {n} | {} | {} | {} | {} | {} |", cell(local), cell(w1), cell(w2), cell(p1), cell(p2));
    }
    println!("\nA program that takes 1 ms per call (sleeps; n = 100), 1,000 calls per row:\n");
    println!("| workers | calls per second | efficiency |\n|---|---|---|");
    let start = Instant::now();
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let local = 200.0 / start.elapsed().as_secs_f64();
    println!("| in process | {local:.0} | 100% |");
    for w in [1, 2] {
        let rate = through(&pool(&["slow", "1000"], false, w), 100, 1_000);
        println!("| W = {w} | {rate:.0} | {:.0}% |", 100.0 * rate / (local * w as f64));
    }
}
