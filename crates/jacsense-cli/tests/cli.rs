//! The built `jacsense` binary against the workers of `jacsense-test-worker`: a
//! well-behaved Broyden tridiagonal map and workers that crash, hang, print garbage,
//! answer the wrong count or close their output. Every estimate must come out right
//! with its erasures reported, or stop with a clear error, within its timeouts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use jacsense::{Pattern, SparseMatrix};
use jacsense_problems::{BroydenTridiagonal, Problem};
use serde_json::Value;

const JACSENSE: &str = env!("CARGO_BIN_EXE_jacsense");
const WORKER: &str = env!("CARGO_BIN_EXE_jacsense-test-worker");
const X0: [f64; 6] = [0.5, -1.0, 2.0, 0.0, 1.0, 3.0];
/// Forward differences with the default step: error about √ε · |f''| · scale.
const TOL: f64 = 1e-6;

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jacsense-cli-test-{}", std::process::id())).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn x0_arg() -> String {
    X0.map(|v| v.to_string()).join(" ")
}

/// Runs jacsense; commands that start workers get a `--log` in this run's scratch
/// space unless they name one, so that the logs of faults do not pile up in /tmp.
fn run(args: &[&str]) -> Output {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if matches!(args[0].as_str(), "estimate" | "vjp") && !args.iter().any(|a| a == "--log") {
        let logs = std::env::temp_dir().join(format!("jacsense-cli-test-{}", std::process::id())).join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let k = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        args.splice(1..1, ["--log".to_string(), logs.join(format!("{k}.log")).display().to_string()]);
    }
    Command::new(JACSENSE).args(&args).stdin(Stdio::null()).output().expect("jacsense runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn truth() -> SparseMatrix {
    BroydenTridiagonal { n: X0.len() }.jacobian(&X0)
}

fn write_tridiagonal(dir: &Path) -> PathBuf {
    let path = dir.join("tri.mtx");
    let file = std::fs::File::create(&path).unwrap();
    jacsense::write_matrix_market(file, &Pattern::banded(6, 6, 1, 1), None).unwrap();
    path
}

/// J read back from a JSON output, compared entry by entry with the analytic J: every
/// entry of its pattern must be there, each entry at most once and inside the 6×6
/// shape, and entries beyond the pattern (a dense estimate) must be zero.
fn assert_jacobian_json(j: &Value) {
    let truth = truth();
    let (rows, cols, values) =
        (j["rows"].as_array().unwrap(), j["cols"].as_array().unwrap(), j["values"].as_array().unwrap());
    assert_eq!(j["shape"], serde_json::json!([6, 6]));
    assert_eq!(rows.len(), cols.len(), "as many column indices as row indices");
    assert_eq!(rows.len(), values.len(), "as many values as entries");
    let mut seen = std::collections::BTreeSet::new();
    for k in 0..rows.len() {
        let (i, c) = (rows[k].as_u64().unwrap() as usize, cols[k].as_u64().unwrap() as usize);
        assert!(i < 6 && c < 6, "entry ({i}, {c}) is outside the 6×6 shape");
        assert!(seen.insert((i, c)), "entry ({i}, {c}) appears twice");
        let v = values[k].as_f64().unwrap_or(f64::NAN);
        assert!((v - truth.get(i, c)).abs() < TOL, "J[{i},{c}] = {v}, expected {}", truth.get(i, c));
    }
    for (i, c) in truth.pattern().entries() {
        assert!(seen.contains(&(i, c)), "J[{i},{c}] = {} is missing from the output", truth.get(i, c));
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn well_behaved_worker_gives_the_jacobian_with_m_learned_at_x0() {
    let dir = scratch("good");
    let report = dir.join("r.json");
    let out = run(&[
        "estimate",
        "--x0",
        &x0_arg(),
        "--workers",
        "2",
        "--design",
        "colored",
        "--output",
        "-",
        "--report",
        report.to_str().unwrap(),
        "--",
        WORKER,
        "broyden",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Only the JSON of J on stdout.
    let j: Value = serde_json::from_slice(&out.stdout).expect("stdout is the JSON of J");
    assert_jacobian_json(&j);
    let r = read_json(&report);
    // Dense 6×6 colored (asked for; told nothing is a session: `estimate_told_nothing…`):
    // f(x0) and one call per column; the call at x0 that told m is call 0.
    assert_eq!(r["calls"], 7);
    assert_eq!(r["erasures"].as_array().unwrap().len(), 0);
    assert_eq!(r["complete"], true);
    assert!(stderr(&out).contains("Every row determined"), "{}", stderr(&out));
    // Colored (χ = 6): every entry read off once, nothing to check it against. Without
    // --outliers that still exits 0, with the warning in the summary and the report.
    assert_eq!(r["status"], "unverified");
    assert_eq!(r["status_detail"]["rows"], serde_json::json!([0, 1, 2, 3, 4, 5]));
    assert!(r["rows"]["status"].as_array().unwrap().iter().all(|s| s == "unverified"), "{}", r["rows"]["status"]);
    assert!(stderr(&out).contains("UNVERIFIED: 6 rows (0, 1, 2, 3, 4, 5) had no redundancy"), "{}", stderr(&out));
}

#[test]
fn ties_and_known_entries_from_files() {
    let dir = scratch("coupling");
    let pattern = write_tridiagonal(&dir);
    // Broyden: the sub-diagonal is all −1 (known), the super-diagonal all −2 (one tied
    // unknown); the diagonal 3 − 4x_i stays free: 6 + 1 unknowns.
    let known = dir.join("known.txt");
    std::fs::write(&known, (1..6).map(|i| format!("{i} {} -1\n", i - 1)).collect::<String>()).unwrap();
    let ties = dir.join("ties.json");
    let group: Vec<(usize, usize, f64)> = (0..5).map(|i| (i, i + 1, 1.0)).collect();
    std::fs::write(&ties, serde_json::to_string(&vec![group]).unwrap()).unwrap();
    let (p, k, t) = (pattern.to_str().unwrap(), known.to_str().unwrap(), ties.to_str().unwrap());
    let out = run(&["plan", "--pattern", p, "--known", k, "--ties", t, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["intrinsic_dimension"], 7);
    let out = run(&[
        "estimate",
        "--x0",
        &x0_arg(),
        "--pattern",
        p,
        "--known",
        k,
        "--ties",
        t,
        "--request-format",
        "json",
        "--output",
        "-",
        "--",
        WORKER,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_jacobian_json(&serde_json::from_slice(&out.stdout).unwrap());
}

#[test]
fn a_pattern_file_gives_the_colored_plan() {
    let dir = scratch("pattern");
    let pattern = write_tridiagonal(&dir);
    let output = dir.join("J.mtx");
    let out = run(&[
        "estimate",
        "--x0",
        &x0_arg(),
        "--pattern",
        pattern.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--quiet",
        "--",
        WORKER,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "--quiet and a file output: nothing on the terminal");
    let (p, values) =
        jacsense::read_matrix_market(std::io::BufReader::new(std::fs::File::open(&output).unwrap())).unwrap();
    assert_eq!(p, Pattern::banded(6, 6, 1, 1));
    let est = SparseMatrix::new(p, values.unwrap()).unwrap();
    assert!(jacsense_problems::relative_error(&est, &truth()) < TOL);
}

/// A redundant design (rainbow, 16 calls for ρ_max = 6) on one worker that fails its
/// 5th, 10th, 15th request: calls 4, 9 and 14 are erasures with the reason, and J
/// comes out right.
fn faulty(mode: &str, workers: &str, extra: &[&str]) -> (Output, Value, Value, Duration) {
    let dir = scratch(mode);
    let report = dir.join("r.json");
    let log = dir.join("workers.log");
    let x0 = x0_arg();
    let mut args = vec![
        "estimate",
        "--x0",
        &x0,
        "--workers",
        workers,
        "--design",
        "rainbow",
        "--calls",
        "16",
        "--timeout",
        "300ms",
        "--output",
        "-",
        "--report",
        report.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", WORKER, mode, "5"]);
    let start = Instant::now();
    let out = run(&args);
    let elapsed = start.elapsed();
    assert_eq!(out.status.code(), Some(0), "{mode}: {}", stderr(&out));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    // A line per fault goes to the log (with the workers' stderr), not the terminal.
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("call 4 ") && log.contains("call 14 "), "{mode}: {log}");
    (out, j, read_json(&report), elapsed)
}

fn erasures(r: &Value) -> Vec<(u64, String)> {
    r["erasures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["call"].as_u64().unwrap(), e["reason"].as_str().unwrap().to_string()))
        .collect()
}

fn assert_faults(mode: &str, reason: &str, workers: &str, extra: &[&str]) {
    let (out, j, r, _) = faulty(mode, workers, extra);
    assert_jacobian_json(&j);
    let e = erasures(&r);
    assert_eq!(e.iter().map(|(c, _)| *c).collect::<Vec<_>>(), vec![4, 9, 14], "{mode}: {e:?}");
    for (_, why) in &e {
        assert!(why.contains(reason), "{mode}: reason '{why}' lacks '{reason}'");
    }
    assert!(stderr(&out).contains("call 4 ("), "the summary names the calls: {}", stderr(&out));
    assert_eq!(r["calls"], 16);
}

#[test]
fn crashing_worker_calls_are_erasures_and_the_worker_restarts() {
    assert_faults("crash", "exited with status 3 before answering", "1", &[]);
}

#[test]
fn hanging_worker_calls_time_out() {
    let (_, j, r, elapsed) = faulty("hang", "1", &[]);
    assert_jacobian_json(&j);
    let e = erasures(&r);
    assert_eq!(e.len(), 3);
    assert!(e.iter().all(|(_, why)| why.contains("no answer within 300 ms")), "{e:?}");
    // Three timeouts of 300 ms, not an hour.
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}

#[test]
fn garbage_answers_are_erasures() {
    assert_faults("garbage", "answer entry 0 is 'banana', not a number", "1", &[]);
}

#[test]
fn wrong_counts_are_erasures() {
    assert_faults("wrong-count", "answered 5 numbers, expected m = 6", "1", &[]);
}

#[test]
fn closed_output_is_an_erasure() {
    assert_faults("close", "before answering", "1", &[]);
}

#[test]
fn nan_answers_are_erasures() {
    assert_faults("nan", "is NaN", "1", &[]);
}

#[test]
fn wrong_numbers_are_found_by_l1_decoding_when_outliers_are_expected() {
    let dir = scratch("spoil");
    let pattern = write_tridiagonal(&dir);
    let report = dir.join("r.json");
    // Every 7th call answers f(x) + 1000: calls 6, 13, 20, … of the 39 planned.
    let out = run(&[
        "estimate",
        "--x0",
        &x0_arg(),
        "--pattern",
        pattern.to_str().unwrap(),
        "--outliers",
        "0.2",
        "--workers",
        "1",
        "--output",
        "-",
        "--report",
        report.to_str().unwrap(),
        "--",
        WORKER,
        "spoil",
        "7",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_jacobian_json(&serde_json::from_slice(&out.stdout).unwrap());
    let r = read_json(&report);
    assert_eq!(r["plan"]["settings"]["decoder"], "l1");
    let calls = r["calls"].as_u64().unwrap();
    let flagged: Vec<u64> = r["outliers"].as_array().unwrap().iter().map(|o| o["call"].as_u64().unwrap()).collect();
    let spoiled: Vec<u64> = (1..=calls).filter(|k| k % 7 == 0).map(|k| k - 1).collect();
    assert_eq!(flagged, spoiled, "the report names exactly the spoiled calls");
    assert!(r["erasures"].as_array().unwrap().is_empty());
    // Every row checked by the calls L1 kept.
    assert_eq!(r["status"], "solved");
    assert!(stderr(&out).contains("(solved)"), "{}", stderr(&out));
}

/// Whether a JSON value is of the expected type.
type IsType = fn(&Value) -> bool;

/// The fields every `--report` holds, with the JSON type of each (README, "The report").
const SHARED_FIELDS: [(&str, IsType); 14] = [
    ("command", Value::is_string),
    ("jacsense_version", Value::is_string),
    ("n", Value::is_u64),
    ("m", Value::is_u64),
    ("program", Value::is_array),
    ("workers", Value::is_u64),
    ("plan", Value::is_object),
    ("decoder", Value::is_string),
    ("calls", Value::is_u64),
    ("erasures", Value::is_array),
    ("outliers", Value::is_array),
    ("complete", Value::is_boolean),
    ("timing", Value::is_object),
    ("worker_log", |v| v.is_string() || v.is_null()),
];

fn assert_shared_schema(r: &Value) {
    for (key, is_type) in SHARED_FIELDS {
        assert!(is_type(&r[key]), "report field '{key}' = {} is missing or of the wrong type", r[key]);
    }
    for key in ["calls", "measurements", "lower_bound"] {
        assert!(r["plan"][key].is_u64(), "report field 'plan.{key}' = {}", r["plan"][key]);
    }
    assert!(r["plan"]["settings"].is_object());
    for key in ["plan_s", "calls_s", "decode_s", "total_s"] {
        assert!(r["timing"][key].as_f64().is_some_and(|t| t >= 0.0), "timing.{key} = {}", r["timing"][key]);
    }
    assert!(r["timing"]["total_s"].as_f64() >= r["timing"]["calls_s"].as_f64());
    for e in r["erasures"].as_array().unwrap() {
        assert!(e["call"].is_u64() && e["reason"].is_string(), "erasure {e}");
    }
    for o in r["outliers"].as_array().unwrap() {
        assert!(o["call"].is_u64(), "outlier {o}");
    }
    assert!(r.get("calls_made").is_none(), "one name for the calls made: 'calls'");
}

/// `estimate` and `vjp` on the same program with garbage calls: one report schema, and
/// both name exactly the calls that were spoiled.
#[test]
fn estimate_and_vjp_reports_share_one_schema() {
    let dir = scratch("schema");
    let pattern = write_tridiagonal(&dir);
    let spoiled = |calls: u64| -> Vec<u64> { (1..=calls).filter(|k| k % 7 == 0).map(|k| k - 1).collect() };
    let mut reports = Vec::new();
    for command in ["estimate", "vjp"] {
        let report = dir.join(format!("{command}.json"));
        let x0 = x0_arg();
        let mut args = vec![command, "--x0", &x0, "--pattern", pattern.to_str().unwrap(), "--outliers", "0.2"];
        if command == "vjp" {
            args.extend_from_slice(&["--v", "1 0 0 0 0 0", "--route", "direct"]);
        }
        args.extend_from_slice(&["--workers", "1", "--report", report.to_str().unwrap(), "--", WORKER, "spoil", "7"]);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{command}: {}", stderr(&out));
        let r = read_json(&report);
        assert_shared_schema(&r);
        assert_eq!(r["command"], command);
        assert_eq!((r["n"].as_u64(), r["m"].as_u64()), (Some(6), Some(6)));
        assert_eq!(r["calls"], r["plan"]["calls"], "{command}: every planned call made, x0's once");
        assert_eq!(r["complete"], true);
        let calls = r["calls"].as_u64().unwrap();
        let flagged: Vec<u64> = r["outliers"].as_array().unwrap().iter().map(|o| o["call"].as_u64().unwrap()).collect();
        assert!(!spoiled(calls).is_empty());
        assert_eq!(flagged, spoiled(calls), "{command}: the report names exactly the spoiled calls");
        assert!(stderr(&out).contains("calls judged outliers (6, 13"), "{command}: {}", stderr(&out));
        reports.push(r);
    }
    assert_eq!(reports[1]["plan"]["route"], "direct");
    assert_eq!(reports[0]["plan"]["settings"]["decoder"], "l1");
}

#[test]
fn per_call_mode_runs_one_process_per_call() {
    // JACSENSE_CALL makes the per-call worker fail the same calls 4, 9, 14.
    assert_faults("crash", "exited with status 3", "2", &["--per-call"]);
}

#[test]
fn too_many_failures_in_a_row_stop_with_exit_code_2() {
    let dir = scratch("maxfail");
    let pattern = write_tridiagonal(&dir);
    let out = run(&[
        "estimate",
        "--x0",
        &x0_arg(),
        "--pattern",
        pattern.to_str().unwrap(),
        "--workers",
        "1",
        "--max-failures",
        "2",
        "--output",
        "-",
        "--",
        WORKER,
        "crash",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("stopped after 2 failed calls in a row (--max-failures 2)"), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "nothing written on failure");
}

#[test]
fn a_failed_call_at_x0_stops_because_m_is_unknown() {
    let out = run(&["estimate", "--x0", &x0_arg(), "--", WORKER, "crash", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("the call at x0 failed"), "{}", stderr(&out));
}

#[test]
fn a_missing_program_is_an_input_error() {
    let out = run(&["estimate", "--x0", "1 2", "--", "/nonexistent/jacsense-program"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot start '/nonexistent/jacsense-program'"), "{}", stderr(&out));
}

#[test]
fn too_many_erasures_leave_rows_undetermined_with_exit_code_3() {
    let dir = scratch("incomplete");
    let pattern = write_tridiagonal(&dir);
    let report = dir.join("r.json");
    // The colored design has no redundancy: losing call 1 (the first color) loses entries.
    let out = run(&[
        "estimate",
        "--x0",
        &x0_arg(),
        "--pattern",
        pattern.to_str().unwrap(),
        "--design",
        "colored",
        "--workers",
        "1",
        // No calls beyond the plan's: a session would top the lost entries up.
        "--max-calls",
        "4",
        "--report",
        report.to_str().unwrap(),
        "--output",
        "-",
        "--",
        WORKER,
        "crash",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("INCOMPLETE"), "{}", stderr(&out));
    let r = read_json(&report);
    assert_eq!(r["complete"], false);
    assert!(!r["undetermined_rows"].as_array().unwrap().is_empty());
    assert_eq!(r["status"], "incomplete");
    assert_eq!(r["status_detail"]["rows"], r["undetermined_rows"]);
    for i in r["undetermined_rows"].as_array().unwrap() {
        let status = &r["rows"]["status"][i.as_u64().unwrap() as usize];
        assert!(status["underdetermined"]["unknowns"].as_u64().is_some(), "{status}");
    }
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(j["values"].as_array().unwrap().iter().any(Value::is_null), "undetermined entries are NaN (null)");
}

/// A square random design (7 calls for the 6 unknowns of each dense row) whose
/// directions are nearly dependent (seed 79: κ ≈ 270, found by trying seeds), at a
/// relative step of 1e-3 (finite-difference error ≈ 1e-3): ill-conditioned, exit code 5.
#[test]
fn an_ill_conditioned_design_exits_with_code_5() {
    let dir = scratch("ill");
    let report = dir.join("r.json");
    let args = |seed: &'static str| {
        vec![
            "estimate",
            "--x0",
            "0.5 -1 2 0 1 3",
            "--design",
            "random",
            "--calls",
            "7",
            "--step",
            "1e-3",
            "--seed",
            seed,
        ]
    };
    let mut ill = args("79");
    ill.extend(["--workers", "1", "--report", report.to_str().unwrap(), "--", WORKER, "broyden"]);
    let out = run(&ill);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("ILL-CONDITIONED: 6 rows"), "{}", stderr(&out));
    let r = read_json(&report);
    assert_eq!(r["status"], "ill-conditioned");
    let kappa = r["status_detail"]["condition"].as_f64().unwrap();
    let predicted = r["status_detail"]["predicted_error"].as_f64().unwrap();
    assert!(kappa > 100.0, "{kappa}");
    // κ times h + ε/h at h = 1e-3.
    assert!((predicted / (kappa * (1e-3 + f64::EPSILON / 1e-3)) - 1.0).abs() < 1e-9, "{predicted}");
    assert_eq!(r["rows"]["status"][0]["ill-conditioned"]["condition"].as_f64(), Some(kappa));
    // The user's tolerance decides: accepting errors up to 1, the same calls are only
    // unverified (exactly determined), exit code 0.
    let mut lenient = args("79");
    lenient.extend(["--condition-tolerance", "1", "--report", report.to_str().unwrap(), "--", WORKER, "broyden"]);
    let out = run(&lenient);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read_json(&report)["status"], "unverified");
}

/// Outliers were expected, but the calls told back leave the rows no redundancy:
/// unverified is then a failure of what was asked for, exit code 6.
#[test]
fn unverified_rows_when_outliers_were_expected_exit_with_code_6() {
    let dir = scratch("unverified");
    let pattern = write_tridiagonal(&dir);
    let run_dir = dir.join("run");
    let out = run(&[
        "ask",
        "--x0",
        &x0_arg(),
        "--pattern",
        pattern.to_str().unwrap(),
        "--outliers",
        "0.2",
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Only f(x0) and three directions come back: the middle rows' three unknowns are
    // exactly determined, the first and last rows' two are still checked.
    let points = std::fs::read_to_string(run_dir.join("points.txt")).unwrap();
    assert!(points.lines().count() > 20);
    let mut told = String::new();
    for (call, line) in points.lines().enumerate().take(4) {
        let x = jacsense_cli::formats::parse_numbers(line).unwrap();
        let mut y = vec![0.0; 6];
        jacsense::Blackbox::call(&BroydenTridiagonal { n: 6 }, &x, &mut y).unwrap();
        told += &format!("{call} {}\n", y.iter().map(|v| format!("{v:e}")).collect::<Vec<_>>().join(" "));
    }
    let values = dir.join("values.txt");
    std::fs::write(&values, told).unwrap();
    let report = dir.join("r.json");
    let out = run(&[
        "tell",
        run_dir.to_str().unwrap(),
        "--values",
        values.to_str().unwrap(),
        "--output",
        "-",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert_jacobian_json(&serde_json::from_slice(&out.stdout).unwrap());
    let r = read_json(&report);
    assert_eq!(r["status"], "unverified");
    assert_eq!(r["status_detail"]["rows"], serde_json::json!([1, 2, 3, 4]));
    assert_eq!(r["rows"]["status"][0], "solved");
    assert!(stderr(&out).contains("although --outliers was given"), "{}", stderr(&out));
}

#[test]
fn ask_then_tell_through_a_separate_process() {
    let dir = scratch("asktell");
    let pattern = write_tridiagonal(&dir);
    let run_dir = dir.join("run");
    let out = run(&[
        "ask",
        "--x0",
        &x0_arg(),
        "--pattern",
        pattern.to_str().unwrap(),
        "--design",
        "rainbow",
        "--calls",
        "12",
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let points = std::fs::read_to_string(run_dir.join("points.txt")).unwrap();
    let lines: Vec<&str> = points.lines().collect();
    assert_eq!(lines.len(), 12);
    // The points .npy holds the same numbers.
    let npy = std::fs::File::open(run_dir.join("points.npy")).unwrap();
    let (shape, values) = jacsense_cli::formats::read_npy(npy, &run_dir.join("points.npy")).unwrap();
    assert_eq!(shape, vec![12, 6]);
    assert_eq!(jacsense_cli::formats::parse_numbers(lines[3]).unwrap(), values[18..24].to_vec());

    // Every point through its own process, as a scheduler would; values in reverse
    // order, call 7 never told.
    let mut told = String::from("# call y1 ... ym\n");
    for (call, line) in lines.iter().enumerate().rev() {
        if call == 7 {
            continue;
        }
        let mut child = Command::new(WORKER).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{line}").unwrap();
        let answer = child.wait_with_output().unwrap();
        told += &format!("{call} {}", String::from_utf8(answer.stdout).unwrap());
    }
    let values = dir.join("values.txt");
    std::fs::write(&values, told).unwrap();
    let report = dir.join("r.json");
    let out = run(&[
        "tell",
        run_dir.to_str().unwrap(),
        "--values",
        values.to_str().unwrap(),
        "--output",
        "-",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_jacobian_json(&serde_json::from_slice(&out.stdout).unwrap());
    let e = erasures(&read_json(&report));
    assert_eq!(e, vec![(7, "no value was told".to_string())]);

    // A directory of per-call files decodes the same way.
    let per_call = dir.join("values");
    std::fs::create_dir_all(&per_call).unwrap();
    for line in std::fs::read_to_string(&values).unwrap().lines().skip(1) {
        let (call, y) = line.split_once(' ').unwrap();
        std::fs::write(per_call.join(format!("{call}.txt")), y).unwrap();
    }
    let out = run(&["tell", run_dir.to_str().unwrap(), "--values", per_call.to_str().unwrap(), "--output", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_jacobian_json(&serde_json::from_slice(&out.stdout).unwrap());

    // A .npy of calls × m values, NaN rows for missing calls, decodes the same way.
    let mut table = vec![f64::NAN; 12 * 6];
    for line in std::fs::read_to_string(&values).unwrap().lines().skip(1) {
        let numbers = jacsense_cli::formats::parse_numbers(line).unwrap();
        let call = numbers[0] as usize;
        table[call * 6..(call + 1) * 6].copy_from_slice(&numbers[1..]);
    }
    let npy = dir.join("values.npy");
    jacsense_cli::formats::write_npy_rows(std::fs::File::create(&npy).unwrap(), &npy, &table, &[12, 6]).unwrap();
    let report = dir.join("r2.json");
    let out = run(&[
        "tell",
        run_dir.to_str().unwrap(),
        "--values",
        npy.to_str().unwrap(),
        "--output",
        "-",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_jacobian_json(&serde_json::from_slice(&out.stdout).unwrap());
    assert_eq!(erasures(&read_json(&report)), vec![(7, "no value was told".to_string())]);

    // A values line that is not 'CALL numbers' names the file, line and value.
    std::fs::write(&values, "0 1 2 3 4 5 6\nseven 1 2 3 4 5 6\n").unwrap();
    let out = run(&["tell", run_dir.to_str().unwrap(), "--values", values.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("values.txt line 2: 'seven' is not a call index"), "{}", stderr(&out));

    // The plan file is the plan itself: an edited one fails its checksum, one of
    // another format version is refused, by name.
    let plan_path = run_dir.join("plan.json");
    let text = std::fs::read_to_string(&plan_path).unwrap();
    let mut plan = read_json(&plan_path);
    plan["data"]["scheme"]["settings"]["seed"] = 1.into();
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let out = run(&["tell", run_dir.to_str().unwrap(), "--values", per_call.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("checksum does not match"), "{}", stderr(&out));
    std::fs::write(&plan_path, text.replace("\"version\":1", "\"version\":7")).unwrap();
    let out = run(&["tell", run_dir.to_str().unwrap(), "--values", per_call.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("format version 7"), "{}", stderr(&out));
}

/// What a user naturally produces: the program run over points.txt, one line of m
/// numbers per call in call order, no index; a blank or `nan` line for a missing call.
#[test]
fn tell_reads_values_in_call_order() {
    let dir = scratch("ordered");
    let pattern = write_tridiagonal(&dir);
    let run_dir = dir.join("run");
    let out = run(&[
        "ask",
        "--x0",
        &x0_arg(),
        "--pattern",
        pattern.to_str().unwrap(),
        "--design",
        "rainbow",
        "--calls",
        "12",
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // program < points.txt > values.txt
    let answer = Command::new(WORKER)
        .stdin(std::fs::File::open(run_dir.join("points.txt")).unwrap())
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let produced = String::from_utf8(answer.stdout).unwrap();
    let lines: Vec<&str> = produced.lines().collect();
    assert_eq!(lines.len(), 12);
    let values = dir.join("values.txt");
    let tell = |values: &Path, extra: &[&str]| {
        let report = dir.join("r.json");
        let _ = std::fs::remove_file(&report);
        let mut args = vec!["tell", run_dir.to_str().unwrap(), "--values", values.to_str().unwrap()];
        args.extend_from_slice(&["--output", "-", "--report", report.to_str().unwrap()]);
        args.extend_from_slice(extra);
        let out = run(&args);
        let r = if out.status.code() == Some(0) { Some(read_json(&report)) } else { None };
        (out, r)
    };

    // As produced, with a comment line on top (not a call).
    std::fs::write(&values, format!("# y1 ... y6\n{produced}")).unwrap();
    let (out, r) = tell(&values, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_jacobian_json(&serde_json::from_slice(&out.stdout).unwrap());
    assert!(erasures(&r.unwrap()).is_empty());

    // Call 3 answered 'nan', call 7 left blank, a trailing blank line: both missing.
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[3] = "nan".into();
    edited[7] = String::new();
    std::fs::write(&values, edited.join("\n") + "\n\n").unwrap();
    for extra in [&[][..], &["--values-format", "ordered"]] {
        let (out, r) = tell(&values, extra);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", stderr(&out));
        assert_jacobian_json(&serde_json::from_slice(&out.stdout).unwrap());
        let missing = "no value was told".to_string();
        assert_eq!(erasures(&r.unwrap()), vec![(3, missing.clone()), (7, missing)], "{extra:?}");
    }

    // A line left out would shift every later call: refused, naming the counts.
    let short: Vec<&str> = lines.iter().enumerate().filter(|&(j, _)| j != 7).map(|(_, l)| *l).collect();
    std::fs::write(&values, short.join("\n")).unwrap();
    let (out, _) = tell(&values, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("11 lines of values for a plan of 12 calls"), "{}", stderr(&out));
    assert!(stderr(&out).contains("a blank line or 'nan'"), "{}", stderr(&out));

    // Lines of both kinds: refused in auto, naming the option; each format then reads
    // the lines it does not expect as broken calls.
    let mut mixed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    mixed[5] = format!("5 {}", lines[5]);
    std::fs::write(&values, mixed.join("\n")).unwrap();
    let (out, _) = tell(&values, &[]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("line 1 holds m = 6 numbers") && e.contains("line 6 holds an index and 6 numbers"), "{e}");
    assert!(e.contains("--values-format ordered") && e.contains("--values-format indexed"), "{e}");
    let (out, r) = tell(&values, &["--values-format", "ordered"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_jacobian_json(&serde_json::from_slice(&out.stdout).unwrap());
    let e = erasures(&r.unwrap());
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, 5);
    assert!(e[0].1.contains("line 6 (call 5): 7 numbers, expected m = 6"), "{e:?}");
    let (out, _) = tell(&values, &["--values-format", "indexed"]);
    assert_eq!(out.status.code(), Some(1));
    let first = lines[0].split(' ').next().unwrap();
    assert!(stderr(&out).contains(&format!("line 1: '{first}' is not a call index")), "{}", stderr(&out));

    // The format is for text files only.
    let (out, _) = tell(&run_dir.join("points.npy"), &["--values-format", "ordered"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--values-format is for a text file"), "{}", stderr(&out));
}

#[test]
fn formats_read_and_write_by_extension() {
    let dir = scratch("formats");
    // x0 in four formats.
    let npy = dir.join("x0.npy");
    jacsense_cli::formats::write_vector(&npy, &X0).unwrap();
    let json = dir.join("x0.json");
    std::fs::write(&json, "[0.5, -1, 2, 0, 1, 3]").unwrap();
    let csv = dir.join("x0.csv");
    std::fs::write(&csv, "# x0\n0.5,-1,2\n0,1,3\n").unwrap();
    let mtx = dir.join("x0.mtx");
    jacsense_cli::formats::write_vector(&mtx, &X0).unwrap();
    for path in [&npy, &json, &csv, &mtx] {
        let spec = format!("@{}", path.display());
        assert_eq!(jacsense_cli::formats::read_vector(&spec, "x0").unwrap(), X0.to_vec(), "{}", path.display());
    }
    // J written in every format, read back as a pattern (the tridiagonal one).
    let pattern = write_tridiagonal(&dir);
    for ext in ["mtx", "npy", "json", "csv"] {
        let output = dir.join(format!("J.{ext}"));
        let out = run(&[
            "estimate",
            "--x0",
            &format!("@{}", npy.display()),
            "--pattern",
            pattern.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--",
            WORKER,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let back = jacsense_cli::formats::read_pattern(&output).unwrap();
        assert_eq!(back, Pattern::banded(6, 6, 1, 1), "{ext}");
    }
    // The dense .npy holds J row-major.
    let (shape, values) =
        jacsense_cli::formats::read_npy(std::fs::File::open(dir.join("J.npy")).unwrap(), &dir.join("J.npy")).unwrap();
    assert_eq!(shape, vec![6, 6]);
    assert_eq!(values.len(), 36);
    for (k, v) in values.iter().enumerate() {
        let (i, c) = (k / 6, k % 6);
        assert!((v - truth().get(i, c)).abs() < TOL, "J[{i},{c}] = {v} in J.npy, expected {}", truth().get(i, c));
    }
}

#[test]
fn errors_name_the_file_line_and_value() {
    let dir = scratch("errors");
    let x0 = dir.join("x0.csv");
    std::fs::write(&x0, "1 2\n3 abc\n").unwrap();
    let out = run(&["estimate", "--x0", &format!("@{}", x0.display()), "--", WORKER]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("x0.csv line 2: 'abc' is not a number"), "{}", stderr(&out));

    let out = run(&["estimate", "--x0", "1 2 x", "--", WORKER]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--x0: entry 2 ('x') is not a number"), "{}", stderr(&out));

    let bad = dir.join("bad.mtx");
    std::fs::write(&bad, "%%MatrixMarket matrix coordinate pattern general\n6 6 2\n1 1\n9 1\n").unwrap();
    let out = run(&["plan", "--pattern", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("bad.mtx") && e.contains("line 4"), "{e}");

    let pattern = write_tridiagonal(&dir);
    let out = run(&["estimate", "--x0", "1 2 3", "--pattern", pattern.to_str().unwrap(), "--", WORKER]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is 6×6 (m × n) but x0 has n = 3 entries"), "{}", stderr(&out));
}

#[test]
fn vjp_gives_the_left_action() {
    let v = [1.0, -2.0, 0.5, 0.0, 3.0, 1.0];
    let out =
        run(&["vjp", "--x0", &x0_arg(), "--v", &v.map(|x| x.to_string()).join(","), "--output", "-", "--", WORKER]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let w: Vec<f64> = serde_json::from_slice::<Vec<f64>>(&out.stdout).unwrap();
    let mut truth = vec![0.0; 6];
    jacsense_problems::BroydenTridiagonal { n: 6 }.jacobian(&X0).mul_transpose_vec(&v, &mut truth);
    assert_eq!(w.len(), truth.len(), "w = {w:?} has n = 6 entries");
    for (a, b) in w.iter().zip(&truth) {
        assert!((a - b).abs() < 10.0 * TOL, "w = {w:?}, Jᵀv = {truth:?}");
    }
}

/// The direct route on a worker that crashes on its 5th request: v = e_2 weights row 2,
/// whose 3 columns are perturbed by 5 Gaussian directions (calls 1 to 5 after the call
/// at x0); call 4 is an erasure with its reason, told to the decoder as such, and the 4
/// directions left determine w.
#[test]
fn vjp_on_the_direct_route_tells_failed_calls_as_erasures() {
    let dir = scratch("vjp-direct");
    let pattern = write_tridiagonal(&dir);
    let report = dir.join("r.json");
    let x0 = x0_arg();
    let out = run(&[
        "vjp",
        "--x0",
        &x0,
        "--v",
        "0 0 1 0 0 0",
        "--pattern",
        pattern.to_str().unwrap(),
        "--route",
        "direct",
        "--workers",
        "1",
        "--output",
        "-",
        "--report",
        report.to_str().unwrap(),
        "--",
        WORKER,
        "crash",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let w: Vec<f64> = serde_json::from_slice::<Vec<f64>>(&out.stdout).unwrap();
    let truth = truth();
    assert_eq!(w.len(), 6, "w = {w:?}");
    for (c, a) in w.iter().enumerate() {
        assert!((a - truth.get(2, c)).abs() < 10.0 * TOL, "w = {w:?}, row 2 of J = {:?}", truth.row_values(2));
    }
    let r = read_json(&report);
    assert_eq!((r["plan"]["route"].as_str(), r["calls"].as_u64()), (Some("direct"), Some(6)));
    let e = erasures(&r);
    assert_eq!(e.iter().map(|(c, _)| *c).collect::<Vec<_>>(), vec![4], "{e:?}");
    assert!(e[0].1.contains("exited with status 3"), "{e:?}");
}

#[test]
fn color_and_plan_print_without_calling() {
    let dir = scratch("color");
    let pattern = write_tridiagonal(&dir);
    let out = run(&["color", pattern.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("| natural | 3 | yes |"), "{table}");
    assert!(table.contains("| best + recolor (from natural) | 3 | yes |"), "{table}");
    assert_eq!(table.matches(" | yes | ").count(), 6, "every ordering, then the recolored best: {table}");

    let out = run(&["color", pattern.to_str().unwrap(), "--kind", "star", "--ordering", "natural", "--output", "-"]);
    let c: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["num_colors"], 3);

    let out = run(&["plan", "--pattern", pattern.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((p["calls"].as_u64(), p["lower_bound"].as_u64()), (Some(4), Some(3)));
    let out = run(&["plan", "--pattern", pattern.to_str().unwrap(), "--outliers", "0.1", "--json"]);
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["settings"]["decoder"], "l1");
}

/// The 5-point Laplacian of a 20×20 grid: every greedy ordering needs 7 colors,
/// iterated greedy recoloring 6, and the local search after it 5 (the lower bound).
/// `color` must report the χ `plan` uses, both with every ordering and with one, and
/// with the local search off.
#[test]
fn color_reports_the_colors_plan_uses() {
    let dir = scratch("recolor");
    let path = dir.join("laplacian.mtx");
    let pattern = jacsense_problems::laplacian_2d(20);
    jacsense::write_matrix_market(std::fs::File::create(&path).unwrap(), &pattern, None).unwrap();
    let file = path.to_str().unwrap();
    let colors_of = |table: &str, row: &str| -> Vec<u64> {
        table
            .lines()
            .filter(|l| l.starts_with(&format!("| {row}")))
            .map(|l| l.split('|').nth(2).unwrap().trim().parse().unwrap())
            .collect()
    };
    let plan_colors = |extra: &[&str]| -> u64 {
        let mut args = vec!["plan", "--pattern", file, "--json"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let p: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(p["settings"]["design"], "colored", "{p}");
        assert_eq!(p["calls"], p["coloring"]["colors"].as_u64().unwrap() + 1, "{p}");
        p["coloring"]["colors"].as_u64().unwrap()
    };

    let out = run(&["color", file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    let greedy: Vec<u64> = jacsense::coloring::Ordering::ALL.iter().flat_map(|o| colors_of(&table, o.name())).collect();
    assert_eq!(greedy.len(), 5, "{table}");
    let best = colors_of(&table, "best + recolor");
    assert_eq!(best.len(), 1, "{table}");
    assert!(best[0] < *greedy.iter().min().unwrap(), "recoloring helps on this pattern: {table}");
    let searched = colors_of(&table, "+ local search");
    assert_eq!(searched, vec![5], "the local search reaches the lower bound: {table}");
    assert_eq!(searched[0], plan_colors(&[]), "color and plan agree: {table}");
    let off = String::from_utf8(run(&["color", file, "--coloring-search", "off"]).stdout).unwrap();
    assert!(colors_of(&off, "+ local search").is_empty(), "{off}");
    assert_eq!(best[0], plan_colors(&["--coloring-search", "off"]), "color and plan agree: {off}");
    let out = run(&["color", file, "--output", "-"]);
    let c: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (c["num_colors"].as_u64(), c["recolored"].as_bool(), c["searched"].as_bool()),
        (Some(searched[0]), Some(true), Some(true))
    );
    let colors: Vec<usize> = c["colors"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    jacsense::coloring::check_column_coloring(&pattern, &jacsense::coloring::Coloring::new(colors)).unwrap();

    // One ordering: the greedy coloring of that ordering, in both.
    let out = run(&["color", file, "--ordering", "natural"]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(colors_of(&table, "best").is_empty(), "{table}");
    let natural = colors_of(&table, "natural");
    assert_eq!(natural, vec![greedy[0]]);
    assert_eq!(natural[0], plan_colors(&["--design", "colored", "--ordering", "natural"]));
}

/// Nothing known about a J: the session's first round (adaptive, with the most it may
/// cost); about a large J, the one-round dense plan is immediate (n colors, no search);
/// measurements that cannot fit in memory stop the run with their size, before any
/// worker is started.
#[test]
fn dense_plans_are_immediate_and_too_large_measurements_an_input_error() {
    let out = run(&["plan", "-n", "3000", "-m", "3000", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["adaptive"], true);
    assert_eq!((p["calls"].as_u64(), p["most_calls_if_dense"].as_u64()), (Some(17), Some(3153)));
    let out = run(&["plan", "-n", "100000", "-m", "100000", "--design", "colored", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["adaptive"], false);
    assert_eq!((p["calls"].as_u64(), p["coloring"]["colors"].as_u64()), (Some(100_001), Some(100_000)));

    let dir = scratch("too-large");
    let x0 = dir.join("x0.txt");
    std::fs::write(&x0, vec!["0"; 1_000_000].join(" ")).unwrap();
    let log = dir.join("workers.log");
    let x0_arg = format!("@{}", x0.display());
    let out =
        run(&["estimate", "--x0", &x0_arg, "-m", "1000000", "--log", log.to_str().unwrap(), "--", WORKER, "identity"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("the measurements of a 1000000×1000000 J (m × k = 1000000 × 1000000 values)"), "{err}");
    assert!(err.contains("more than the"), "{err}");
    // Told nothing: the error says why a dense J is assumed and what avoids it.
    assert!(err.starts_with("jacsense: error: told nothing, a J that turns out dense"), "{err}");
    assert!(err.contains("given the pattern, or a row sparsity"), "{err}");
    // …and told the row sparsity, the plan is small and its lower bound is 2s, not n.
    let out = run(&["plan", "-n", "100000", "-m", "100000", "--row-sparsity", "8"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("lower bound:   16 measurements (2s: rows of at most s = 8 nonzeros"), "{text}");
}

#[test]
fn demo_runs_on_a_small_grid() {
    let out = run(&["demo", "--grid", "20"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    // Columns from the right: status, relative error.
    let cell = |line: &str, from_right: usize| line.rsplit('|').nth(from_right).unwrap().trim().to_string();
    let robust = text.lines().find(|l| l.contains("jacsense told --outliers")).expect("the robust row");
    let err: f64 = cell(robust, 2).parse().unwrap();
    assert!(err < 1e-6, "{robust}");
    assert_eq!(cell(robust, 1), "solved", "{robust}");
    let naive = text.lines().filter(|l| l.starts_with("| coloring")).nth(1).expect("coloring on garbage");
    let err: f64 = cell(naive, 2).parse().unwrap();
    assert!(err > 1e-2, "garbage must spoil plain coloring: {naive}");
    // Read off, the garbage could not have been seen: unverified, never solved.
    assert_eq!(cell(naive, 1), "unverified", "{naive}");
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in ["estimate", "vjp", "ask", "tell", "color", "plan", "demo"] {
        let out = run(&[sub, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Example:") && text.contains("jacsense"), "{sub}: {text}");
    }
    let out = run(&["--help"]);
    assert!(String::from_utf8(out.stdout).unwrap().contains("130"), "exit codes in --help");
    let out = run(&["estimate", "--x0", "1"]);
    assert_eq!(out.status.code(), Some(1), "a usage error: {}", stderr(&out));
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_workers_and_exits_130() {
    let dir = scratch("ctrlc");
    let pattern = write_tridiagonal(&dir);
    let log = dir.join("workers.log");
    let output = dir.join("J.mtx");
    let child = Command::new(JACSENSE)
        .args([
            "estimate",
            "--x0",
            &x0_arg(),
            "--pattern",
            pattern.to_str().unwrap(),
            "--workers",
            "2",
            "--log",
            log.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--",
            WORKER,
            "hang",
            "1",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    // SAFETY: signals our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert!(!output.exists(), "nothing written");
    let hung = std::fs::read_to_string(&log).unwrap();
    assert!(hung.contains("hanging on request 1"), "workers' stderr goes to the log: {hung}");
}

/// Told nothing, ask/tell go in rounds: each `tell` either decodes or writes the next
/// round's points beside the first (exit code 7), and the last one decodes them all.
#[test]
fn ask_and_tell_go_in_rounds_when_nothing_is_known() {
    let dir = scratch("rounds");
    let run_dir = dir.join("run");
    let n = 200;
    let x0: Vec<f64> = (0..n).map(|i| -1.0 + 0.001 * i as f64).collect();
    let x0_text = x0.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" ");
    let out = run(&["ask", "--x0", &x0_text, "--outputs", "200", "--out", run_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(run_dir.join("session.json").exists());
    let mut points = run_dir.join("points.txt");
    let mut rounds = 0;
    let report = dir.join("r.json");
    loop {
        rounds += 1;
        let input = std::fs::File::open(&points).unwrap();
        let answer = Command::new(WORKER).stdin(input).output().unwrap();
        let values = dir.join(format!("values-{rounds}.txt"));
        std::fs::write(&values, answer.stdout).unwrap();
        let out = run(&[
            "tell",
            run_dir.to_str().unwrap(),
            "--values",
            values.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ]);
        match out.status.code() {
            Some(7) => {
                points = run_dir.join(format!("points-{}.txt", rounds + 1));
                assert!(points.exists(), "{}", stderr(&out));
                assert!(stderr(&out).contains(&format!("round {}", rounds + 1)), "{}", stderr(&out));
            }
            Some(0) => break,
            other => panic!("exit {other:?}: {}", stderr(&out)),
        }
        assert!(rounds < 10);
    }
    assert!(rounds >= 2, "told nothing, n = 200 takes more than one round");
    let r = read_json(&report);
    assert_eq!(r["status"], "solved");
    assert_eq!(r["rounds"].as_array().unwrap().len(), rounds);
    assert!(r["calls"].as_u64().unwrap() < 100, "{}", r["calls"]);
    // A session that is done takes nothing more.
    let out = run(&["tell", run_dir.to_str().unwrap(), "--values", dir.join("values-1.txt").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// `estimate` without a pattern runs a session: rounds in the report, fewer calls than
/// coordinate differences, and `--max-calls` bounds them.
#[test]
fn estimate_told_nothing_runs_rounds_and_respects_max_calls() {
    let dir = scratch("session-estimate");
    let n = 200;
    let x0: Vec<f64> = (0..n).map(|i| -1.0 + 0.001 * i as f64).collect();
    let x0_text = x0.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" ");
    let report = dir.join("r.json");
    let out = run(&["estimate", "--x0", &x0_text, "--report", report.to_str().unwrap(), "-w", "2", "--", WORKER]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = read_json(&report);
    assert!(r["rounds"].as_array().unwrap().len() >= 2);
    assert!(r["calls"].as_u64().unwrap() < 100);
    assert!(stderr(&out).contains("rounds"), "{}", stderr(&out));
    let out =
        run(&["estimate", "--x0", &x0_text, "--max-calls", "20", "--report", report.to_str().unwrap(), "--", WORKER]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(read_json(&report)["calls"].as_u64().unwrap() <= 20);
    // vjp's Jacobian route is the same session.
    let v = vec!["1"; n].join(" ");
    let args = ["vjp", "--x0", &x0_text, "--v", &v, "--route", "jacobian", "--report", report.to_str().unwrap()];
    let out = run(&[&args[..], &["--", WORKER]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = read_json(&report);
    assert!(r["calls"].as_u64().unwrap() < 100, "{}", r["calls"]);
    assert_eq!(r["status"], "solved");
}

/// The direct vᵀJ route is one round: `--tol`, or a `--max-calls` below its calls, take
/// the automatic route to the Jacobian's session; asked for by name, it is an error.
#[test]
fn vjp_rounds_take_the_jacobian_route() {
    let dir = scratch("vjp-rounds");
    let report = dir.join("r.json");
    let x0 = vec!["1"; 40].join(" ");
    let mut v = vec!["0"; 40];
    v[39] = "1";
    let v = v.join(" ");
    let vjp = |extra: &[&str]| {
        let mut args = vec!["vjp", "--x0", &x0, "--v", &v, "--sparsity", "2", "--workers", "1", "-q", "-o", "-"];
        args.extend_from_slice(&["--report", report.to_str().unwrap()]);
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", WORKER, "broyden"]);
        run(&args)
    };
    let route = || {
        let r = read_json(&report);
        (r["plan"]["route"].as_str().unwrap().to_string(), r["calls"].as_u64().unwrap())
    };
    let out = vjp(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (direct, calls) = route();
    assert_eq!(direct, "direct");
    let out = vjp(&["--tol", "1e-3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let w: Vec<f64> = serde_json::from_slice(&out.stdout).unwrap();
    // Row 39 of Broyden's J at x = 1: -1 at 38 and 3 - 4x = -1 at 39.
    assert!((w[38] + 1.0).abs() < 1e-3 && (w[39] + 1.0).abs() < 1e-3, "{:?}", &w[36..]);
    assert_eq!(route().0, "sense-jacobian");
    let out = vjp(&["--max-calls", &(calls - 1).to_string()]);
    assert_ne!(out.status.code(), Some(1), "{}", stderr(&out));
    let (jacobian, made) = route();
    assert_eq!(jacobian, "sense-jacobian");
    assert!(made < calls, "{made} calls");
    let out = vjp(&["--route", "direct", "--tol", "1e-3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("needs rounds, which the direct route"), "{}", stderr(&out));
}

/// The coloring search's automatic budget follows the timed call at x0, with m given
/// too: quick calls buy no search (6 colors on the 2D stencil), calls of 0.4 s the
/// optimum (5), and no call is added for the timing.
#[test]
fn the_coloring_search_budget_follows_the_timed_call_at_x0() {
    let dir = scratch("timed-x0");
    let pattern = dir.join("stencil.mtx");
    jacsense::write_matrix_market(
        std::fs::File::create(&pattern).unwrap(),
        &jacsense_problems::laplacian_2d(100),
        None,
    )
    .unwrap();
    let report = dir.join("r.json");
    let x0 = dir.join("x0.txt");
    std::fs::write(&x0, vec!["0.5"; 10_000].join(" ")).unwrap();
    let x0 = format!("@{}", x0.display());
    for (micros, colors) in [("0", 6), ("400000", 5)] {
        let out = run(&[
            "estimate",
            "--x0",
            &x0,
            "--pattern",
            pattern.to_str().unwrap(),
            "--workers",
            "2",
            "-q",
            "--report",
            report.to_str().unwrap(),
            "--",
            WORKER,
            "slow",
            micros,
        ]);
        assert_ne!(out.status.code(), Some(1), "{}", stderr(&out));
        let r = read_json(&report);
        assert_eq!(r["plan"]["coloring"]["colors"].as_u64(), Some(colors), "calls of {micros} µs");
        assert_eq!(r["calls"].as_u64(), Some(colors + 1));
    }
}

/// A known pattern whose first round lost a call: `tell` asks for a top-up round
/// (exit code 7), and the `tell` after it loads the session and decodes both rounds.
#[test]
fn ask_and_tell_top_up_the_rows_a_lost_call_left_open() {
    let dir = scratch("topup");
    let pattern = write_tridiagonal(&dir);
    let run_dir = dir.join("run");
    let out =
        run(&["ask", "--x0", &x0_arg(), "--pattern", pattern.to_str().unwrap(), "--out", run_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let evaluate = |points: &Path, skip: Option<usize>| -> PathBuf {
        let text = std::fs::read_to_string(points).unwrap();
        let mut told = String::new();
        for (call, line) in text.lines().enumerate().filter(|(c, _)| Some(*c) != skip) {
            let mut child = Command::new(WORKER).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
            use std::io::Write;
            writeln!(child.stdin.take().unwrap(), "{line}").unwrap();
            told += &format!("{call} {}", String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap());
        }
        let values = points.with_extension("values");
        std::fs::write(&values, told).unwrap();
        values
    };
    let values = evaluate(&run_dir.join("points.txt"), Some(2));
    let out = run(&["tell", run_dir.to_str().unwrap(), "--values", values.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let values = evaluate(&run_dir.join("points-2.txt"), None);
    let report = dir.join("r.json");
    let out = run(&[
        "tell",
        run_dir.to_str().unwrap(),
        "--values",
        values.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = read_json(&report);
    assert_eq!(r["status"], "solved");
    assert_eq!(r["rounds"].as_array().unwrap().len(), 2);
    assert_eq!(r["erasures"][0]["call"], 2);
}
