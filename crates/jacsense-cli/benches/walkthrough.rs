//! The README walk-through with nothing known about J, against its worker calls alone:
//! the README command itself (told nothing, an adaptive session of about 50 calls in
//! rounds), and the one-round plan of a dense J (`--design colored`: 1001 calls, one per
//! column and `f(x0)`), both against the 1001 calls of that plan answered alone.
//!
//! Run: `cargo bench -p jacsense-cli --bench walkthrough` (add `-- --jacsense PATH` to
//! time another build of the command, e.g. an older one, with the same baselines, and
//! `-- --runs R` for another number of runs than 5).
//!
//! In a temporary directory it writes the README's `model.py` (Broyden's tridiagonal
//! function, one call per line) and `x0.txt` (n = 1000), and the 1001 points of the
//! plan (`jacsense ask`). Then, interleaved run by run so that the load of the machine
//! hits all alike, it times
//!
//! - the worker calls alone: `python3 model.py < points.txt` (one process answers the
//!   1001 lines), and two processes answering half each (as two workers do);
//! - the README command, `jacsense estimate --x0 @x0.txt --workers 2 -o J.mtx --report
//!   report.json -- python3 model.py` (told nothing);
//! - the same with `--design colored`, whose report splits its time into planning (with
//!   the call at x0 that tells m), calls and decoding; the rest of the wall time is
//!   process start, reading x0 and writing J.mtx (1,000,000 entries) and the report.
//!
//! It prints the median of each and the README command's time over the faster of the
//! two baselines.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const MODEL: &str = r#"# model.py: Broyden's tridiagonal function, one call per line.
import sys

for line in sys.stdin:
    x = [float(t) for t in line.split()]
    n = len(x)
    y = [(3 - 2 * x[i]) * x[i] - (x[i - 1] if i > 0 else 0) - 2 * (x[i + 1] if i + 1 < n else 0) + 1
         for i in range(n)]
    print(" ".join(map(repr, y)), flush=True)
"#;

fn run(cmd: &mut Command) -> f64 {
    let start = Instant::now();
    let status = cmd.status().expect("the command starts");
    assert!(status.success(), "{cmd:?} failed: {status}");
    start.elapsed().as_secs_f64()
}

/// Wall time of `python3 model.py` answering the lines of each file, all at once.
fn workers_alone(dir: &Path, inputs: &[PathBuf]) -> f64 {
    let start = Instant::now();
    let children: Vec<_> = inputs
        .iter()
        .map(|input| {
            Command::new("python3")
                .arg("model.py")
                .current_dir(dir)
                .stdin(std::fs::File::open(input).expect("points"))
                .stdout(Stdio::null())
                .spawn()
                .expect("python3 starts")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("python3 runs").success());
    }
    start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).map(|i| args[i + 1].clone());
    let jacsense = value("--jacsense").unwrap_or_else(|| env!("CARGO_BIN_EXE_jacsense").to_string());
    let runs: usize = value("--runs").map_or(5, |r| r.parse().expect("--runs R"));
    let n = 1000;

    let dir = std::env::temp_dir().join(format!("jacsense-walkthrough-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    std::fs::write(dir.join("model.py"), MODEL).expect("model.py");
    std::fs::write(dir.join("x0.txt"), format!("{}\n", vec!["-1"; n].join(" "))).expect("x0.txt");
    let ask = Command::new(&jacsense)
        .args(["ask", "--x0", "@x0.txt", "-m", &n.to_string(), "--design", "colored", "--out", "run", "-q"])
        .current_dir(&dir)
        .status()
        .expect("jacsense ask");
    assert!(ask.success());
    let points = std::fs::read_to_string(dir.join("run/points.txt")).expect("points.txt");
    let lines: Vec<&str> = points.lines().collect();
    assert_eq!(lines.len(), n + 1);
    let (first, second) = lines.split_at(lines.len() / 2);
    for (name, part) in [("half1.txt", first), ("half2.txt", second)] {
        std::fs::write(dir.join(name), part.join("\n") + "\n").expect("half of the points");
    }

    let (mut one, mut two, mut wall, mut told_nothing) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut session_calls = 0;
    let (mut plan, mut calls, mut decode, mut total) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        one.push(workers_alone(&dir, &[dir.join("run/points.txt")]));
        two.push(workers_alone(&dir, &[dir.join("half1.txt"), dir.join("half2.txt")]));
        told_nothing.push(run(Command::new(&jacsense)
            .args(["estimate", "--x0", "@x0.txt", "--workers", "2", "-o", "J.mtx", "--report", "report.json", "-q"])
            .args(["--", "python3", "model.py"])
            .current_dir(&dir)));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("report")).expect("JSON");
        session_calls = report["calls"].as_u64().expect("calls in the report");
        wall.push(run(Command::new(&jacsense)
            .args(["estimate", "--x0", "@x0.txt", "--design", "colored", "--workers", "2", "-o", "J.mtx"])
            .args(["--report", "report.json", "-q"])
            .args(["--", "python3", "model.py"])
            .current_dir(&dir)));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("report")).expect("JSON");
        let t = |key: &str| report["timing"][key].as_f64().expect("timing in the report");
        plan.push(t("plan_s"));
        calls.push(t("calls_s"));
        decode.push(t("decode_s"));
        total.push(t("total_s"));
    }
    let (one, two, wall, told_nothing) = (median(one), median(two), median(wall), median(told_nothing));
    let baseline = one.min(two);
    println!("n = {n}, 1001 calls, median of {runs} runs (seconds)");
    println!();
    println!("| what | wall time | over the worker calls alone |");
    println!("|---|---|---|");
    println!("| worker calls alone: one python3 answers the 1001 lines | {one:.3} | |");
    println!("| worker calls alone: two python3 answer half each | {two:.3} | |");
    println!(
        "| README command, told nothing ({session_calls} calls in rounds, 2 workers) | {told_nothing:.3} | {:+.0}% |",
        100.0 * (told_nothing / baseline - 1.0)
    );
    println!(
        "| README command with `--design colored` (1001 calls, 2 workers) | {wall:.3} | {:+.0}% |",
        100.0 * (wall / baseline - 1.0)
    );
    println!(
        "| … planning, with the call at x0 that tells m | {:.3} | |\n| … calls | {:.3} | |\n| … decoding | {:.3} | |\n| … the rest: start, reading x0, writing J.mtx and the report | {:.3} | |",
        median(plan),
        median(calls),
        median(decode),
        wall - median(total)
    );
    std::fs::remove_dir_all(&dir).ok();
}
