//! Peak memory of sensing a large sparse Jacobian: the 2D Bratu residual on a
//! `k × k` grid (n = m = k², about 5k² nonzeros, 7 calls), per nonzero of `J`.
//!
//! Run with `cargo run --release -p jacsense --example memory` (k = 1000: n = 10⁶,
//! 5·10⁶ nonzeros) or with `-- --quick` (k = 300). Linux only: it reads `VmRSS` and
//! `VmHWM` (the peak resident set) from `/proc/self/status`, and resets the peak by
//! writing 5 to `/proc/self/clear_refs`.
//!
//! The baseline is the resident set once the blackbox, `x0` and the structure (the
//! input pattern) exist, with the memory freed while building them handed back to the
//! system: the blackbox's own memory and the caller's. "Peak over baseline" is the
//! peak of everything after it. Each number comes from a fresh process (this program
//! runs itself again), so that no step reuses memory an earlier one freed unseen. The
//! first table is `jacobian_with` in one go, as a user calls it. The second runs the
//! steps up to each one (plan, evaluate, decode, dropping the measurements) and gives
//! the peak and what stays resident, so the bytes can be attributed.

use std::time::Instant;

use jacsense::{Blackbox, Plan, Settings, Structure, jacobian_with};
use jacsense_problems::{Bratu2d, Problem};

/// `(VmRSS, VmHWM)` in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc/self/status");
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name)).expect("the field is in /proc/self/status");
        line.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()).expect("a number of kB") * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak resident set to the current one.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("writable /proc/self/clear_refs (Linux ≥ 4.0)");
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The steps of sensing, in order; a child process runs the first `stage` of them.
const STEPS: [&str; 4] = [
    "plan (coloring, directions, row index)",
    "evaluate (7 calls, measurements)",
    "decode (estimate)",
    "drop the measurements and the plan",
];

/// Runs `jacobian_with` (stage 0) or the first `stage` steps, and prints
/// `peak resident over baseline` and `resident over baseline` in bytes, and seconds.
fn child(k: usize, stage: usize) {
    let f = Bratu2d { grid: k, lambda: 1.0 };
    let x0 = f.x0();
    let structure = Structure::sparse(f.pattern());
    return_freed_memory();
    let (base, _) = rss();
    reset_peak();
    let start = Instant::now();
    let settings = Settings::default();
    if stage == 0 {
        let est = jacobian_with(&f, &x0, &structure, &settings).expect("the plan is valid");
        std::hint::black_box(&est);
    } else {
        let plan = Plan::new(&structure, &x0, &settings).expect("the plan is valid");
        let meas = (stage >= 2).then(|| plan.evaluate(&f).expect("the calls run"));
        let est = meas.as_ref().filter(|_| stage >= 3).map(|m| m.decode());
        if stage >= 4 {
            drop(meas);
            drop(plan);
        }
        std::hint::black_box((&structure, &est));
        let (_, peak) = rss();
        return_freed_memory();
        let (now, _) = rss();
        println!("{} {} {}", peak.saturating_sub(base), now.saturating_sub(base), start.elapsed().as_secs_f64());
        return;
    }
    let (now, peak) = rss();
    println!("{} {} {}", peak.saturating_sub(base), now.saturating_sub(base), start.elapsed().as_secs_f64());
}

/// Hands the memory freed so far back to the system (glibc keeps it otherwise, and
/// later steps would reuse it unseen by the resident set).
fn return_freed_memory() {
    #[cfg(target_env = "gnu")]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's malloc_trim only releases free memory of the heap.
        unsafe { malloc_trim(0) };
    }
}

/// Runs this program again for `stage`, in a fresh process (so no memory freed by an
/// earlier step is reused unseen), and reads back its numbers.
fn run_stage(k: usize, stage: usize) -> (u64, u64, f64) {
    let out = std::process::Command::new(std::env::current_exe().expect("this program"))
        .args(["--child", &k.to_string(), &stage.to_string()])
        .output()
        .expect("the child runs");
    assert!(out.status.success(), "stage {stage}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let v: Vec<&str> = text.split_whitespace().collect();
    (v[0].parse().expect("bytes"), v[1].parse().expect("bytes"), v[2].parse().expect("seconds"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(args[i + 1].parse().expect("k"), args[i + 2].parse().expect("stage"));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let k = if quick { 300 } else { 1000 };
    let f = Bratu2d { grid: k, lambda: 1.0 };
    let (n, _) = f.dims();
    let pattern = f.pattern();
    let nnz = pattern.nnz() as f64;
    let pattern_bytes = std::mem::size_of::<usize>() as f64 * (pattern.nrows() + 1) as f64 + 8.0 * nnz;
    let per = |bytes: u64| format!("{:.0}", bytes as f64 / nnz);

    println!("2D Bratu residual, {k}×{k} grid: n = m = {n}, {nnz} nonzeros, default settings (7 calls)");
    println!("(the input pattern, CSR, is {:.0} bytes per nonzero: built before the baseline)", pattern_bytes / nnz);
    println!();
    let (peak, _, seconds) = run_stage(k, 0);
    println!("| run | time | peak over baseline | bytes per nonzero |");
    println!("|---|---|---|---|");
    println!("| `jacobian_with` | {seconds:.2} s | {} | {} |", mb(peak), per(peak));
    println!();
    println!(
        "| after step | peak over baseline | bytes per nonzero | live after it, over baseline | bytes per nonzero |"
    );
    println!("|---|---|---|---|---|");
    for (s, name) in STEPS.iter().enumerate() {
        let (peak, now, _) = run_stage(k, s + 1);
        println!("| {name} | {} | {} | {} | {} |", mb(peak), per(peak), mb(now), per(now));
    }
}
