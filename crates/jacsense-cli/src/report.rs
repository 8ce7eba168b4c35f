//! What a run says about itself: the `--report` JSON (calls, erasures and outliers with
//! their reasons, residuals, noise level, standard errors, timing) and the one-paragraph
//! summary on stderr.
//!
//! The reports of `estimate`, `tell` and `vjp` share one schema ([`report_json`]) for
//! what they share; each adds the fields of its own result (README, "The report").

use std::path::{Path, PathBuf};

use jacsense::{Erasure, Estimate, Plan, Round, RowStatus, Status, VjpEstimate, VjpPlan, VjpSettings};
use serde_json::{Value, json};

use crate::error::{Failure, status_exit_code};
use crate::formats::{json_number, write_json, write_matrix};
use crate::options::settings_json;

/// Wall times of the phases of a run, in seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timing {
    /// Reading inputs and planning.
    pub plan: f64,
    /// Making the calls.
    pub calls: f64,
    /// Decoding.
    pub decode: f64,
    /// Everything.
    pub total: f64,
}

/// Where results go.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct OutputArgs {
    /// Write the result here (.mtx, .npy, .json, .csv), or `-` for JSON on stdout.
    /// Nothing else goes to stdout.
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Write the diagnostics as JSON: calls, erasures and outliers with reasons,
    /// residuals, noise level, standard errors, timing (one schema for estimate, tell
    /// and vjp: README, "The report").
    #[arg(long, value_name = "FILE.json", help_heading = "Output")]
    pub report: Option<PathBuf>,
    /// No progress bar and no summary on stderr (errors still go there).
    #[arg(long, short = 'q', help_heading = "Output")]
    pub quiet: bool,
}

/// Facts about how the calls were made, for the report and summary.
#[derive(Clone, Debug, Default)]
pub struct RunFacts {
    /// The program and its arguments (none for `tell`).
    pub program: Vec<String>,
    /// Worker processes.
    pub workers: usize,
    /// The worker log, when it holds anything.
    pub log: Option<PathBuf>,
    /// Extra calls beyond the plan (none: the call at x0 is the plan's call 0).
    pub extra_calls: usize,
}

/// What every `--report` holds, whatever the result.
pub struct Shared<'a> {
    /// The subcommand: "estimate", "tell" or "vjp".
    pub command: &'a str,
    /// Inputs.
    pub n: usize,
    /// Outputs.
    pub m: usize,
    /// What was planned: at least `calls`, `measurements`, `lower_bound`, `settings`.
    pub plan: Value,
    /// The decoder that decoded.
    pub decoder: String,
    /// Calls made, the call at x0 that told m included.
    pub calls: usize,
    /// Calls dropped from decoding, with their reasons.
    pub erasures: &'a [Erasure],
    /// Calls judged grossly wrong: objects with at least `call`.
    pub outliers: Vec<Value>,
    /// Whether every row of J (every entry of w) was determined.
    pub complete: bool,
    /// The status in a word (`solved`, `unverified`, `ill-conditioned`, `solver-limit`,
    /// `incomplete`).
    pub status: String,
    /// What the status concerns: rows, condition and predicted error, or the limit.
    pub status_detail: Value,
}

/// A `--report`: the shared fields, then `specific` (an object) for the command's own
/// result.
pub fn report_json(shared: Shared, timing: &Timing, facts: &RunFacts, specific: Value) -> Value {
    let mut report = json!({
        "command": shared.command,
        "jacsense_version": env!("CARGO_PKG_VERSION"),
        "n": shared.n,
        "m": shared.m,
        "program": facts.program,
        "workers": facts.workers,
        "plan": shared.plan,
        "decoder": shared.decoder,
        "calls": shared.calls,
        "erasures": shared.erasures.iter().map(|e| json!({ "call": e.call, "reason": e.reason.to_string() })).collect::<Vec<_>>(),
        "outliers": shared.outliers,
        "complete": shared.complete,
        "status": shared.status,
        "status_detail": shared.status_detail,
        "timing": { "plan_s": timing.plan, "calls_s": timing.calls, "decode_s": timing.decode, "total_s": timing.total },
        "worker_log": facts.log.as_ref().map(|p| p.display().to_string()),
    });
    if let (Some(all), Value::Object(own)) = (report.as_object_mut(), specific) {
        all.extend(own);
    }
    report
}

/// The `--report` JSON of a Jacobian estimate.
pub fn estimate_json(command: &str, plan: &Plan, est: &Estimate, timing: &Timing, facts: &RunFacts) -> Value {
    let d = est.diagnostics();
    let (n, m) = plan.structure().dims();
    let status: Vec<Value> = d.rows.iter().map(|r| row_status_json(&r.status)).collect();
    let overall = est.status();
    let shared = Shared {
        command,
        n,
        m,
        plan: json!({
            "settings": settings_json(plan.settings()),
            "measurements": plan.measurements(),
            "calls": plan.calls(),
            "lower_bound": plan.lower_bound(),
            "intrinsic_dimension": plan.structure().intrinsic_dimension(),
            "coloring": plan.coloring().map(|(o, c)| json!({ "ordering": o.name(), "colors": c.num_colors() })),
        }),
        decoder: d.decoder.to_string(),
        calls: d.calls + facts.extra_calls,
        erasures: &d.erasures,
        outliers: d
            .outliers
            .iter()
            .map(|o| json!({ "call": o.call, "rows_flagged": o.rows_flagged, "rows_seen": o.rows_seen }))
            .collect(),
        complete: est.is_complete(),
        status: overall.name().to_string(),
        status_detail: status_json(&overall),
    };
    let specific = json!({
        "valid_measurements": d.valid_measurements,
        "noise": d.noise.map(json_number),
        "undetermined_rows": est.undetermined_rows(),
        "rows": {
            "status": status,
            "residual": d.rows.iter().map(|r| json_number(r.residual)).collect::<Vec<_>>(),
            "condition": d.rows.iter().map(|r| json_number(r.condition)).collect::<Vec<_>>(),
            "measurements": d.rows.iter().map(|r| r.measurements).collect::<Vec<_>>(),
            "outliers": d.rows.iter().map(|r| r.outliers).collect::<Vec<_>>(),
            "noise": d.rows.iter().map(|r| r.noise.map(json_number)).collect::<Vec<_>>(),
        },
        "std_errors": est.std_errors().map(|s| s.iter().map(|v| json_number(*v)).collect::<Vec<_>>()),
        "f0": d.f0.as_ref().map(|f| f.iter().map(|v| json_number(*v)).collect::<Vec<_>>()),
        "rounds": rounds_json(&d.rounds),
    });
    report_json(shared, timing, facts, specific)
}

/// The `--report` JSON of a left action `w = Jᵀv` (`vjp`; also the Python package's
/// `VjpEstimate.report`): `settings` are the ones the plan was made with, `m` the
/// outputs of the blackbox, `rounds` those of the Jacobian route's session (none for
/// the direct route, one round).
#[allow(clippy::too_many_arguments)]
pub fn vjp_json(
    plan: &VjpPlan,
    settings: &VjpSettings,
    est: &VjpEstimate,
    m: usize,
    rounds: &[Round],
    timing: &Timing,
    facts: &RunFacts,
) -> Value {
    let planned = plan.jacobian_plan().map_or(&settings.jacobian, |p| p.settings());
    let n = est.w.len();
    let shared = Shared {
        command: "vjp",
        n,
        m,
        plan: json!({
            "route": est.route.name(),
            "settings": settings_json(planned),
            "measurements": plan.measurements(),
            "calls": plan.calls(),
            "lower_bound": plan.lower_bound(),
        }),
        decoder: est.decoder.to_string(),
        calls: est.calls + facts.extra_calls,
        erasures: &est.erasures,
        outliers: est.outliers.iter().map(|call| json!({ "call": call })).collect(),
        complete: est.status.is_determined(),
        status: est.status.name().to_string(),
        status_detail: row_status_json(&est.status),
    };
    let specific = json!({
        "support": est.support,
        "residual": est.residual.map(json_number),
        "rounds": rounds_json(rounds),
    });
    report_json(shared, timing, facts, specific)
}

/// A session's rounds (the report's `"rounds"`: each [`Round`]'s fields).
fn rounds_json(rounds: &[Round]) -> Value {
    json!(rounds)
}

/// A row's status: its name, or for statuses with data `{name: data}`.
pub fn row_status_json(status: &RowStatus) -> Value {
    match status {
        RowStatus::Underdetermined { determined, unknowns } => {
            json!({ "underdetermined": { "determined": determined, "unknowns": unknowns } })
        }
        RowStatus::IllConditioned { condition, predicted_error } => json!({ "ill-conditioned": {
            "condition": json_number(*condition), "predicted_error": json_number(*predicted_error),
        } }),
        RowStatus::SolverLimit(limit) => json!({ "solver-limit": limit.name() }),
        other => json!(other.name()),
    }
}

/// The estimate's status beyond its name: the rows that have it, a sentence, and the
/// condition and predicted error (ill-conditioned) or the limit (solver limit).
pub fn status_json(status: &Status) -> Value {
    let mut v = json!({ "rows": status.rows(), "message": status.to_string() });
    match status {
        Status::IllConditioned { condition, predicted_error, .. } => {
            v["condition"] = json_number(*condition);
            v["predicted_error"] = json_number(*predicted_error);
        }
        Status::SolverLimit { limit, .. } => v["limit"] = json!(limit.name()),
        _ => {}
    }
    v
}

/// The sentence of a summary that says the status, in capitals when it is not solved
/// ("Every row determined." alone only when solved).
pub fn status_sentence(status: &Status, outliers_expected: bool, condition_tolerance: f64) -> String {
    let rows = |r: &[usize]| {
        let shown: Vec<String> = r.iter().take(10).map(|i| i.to_string()).collect();
        format!(
            "{} row{} ({}{})",
            r.len(),
            if r.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if r.len() > 10 { ", …" } else { "" }
        )
    };
    match status {
        Status::Solved => "Every row determined, well conditioned and checked by redundant calls (solved).".into(),
        Status::Unverified { rows: r } => format!(
            "Every row determined, but UNVERIFIED: {} had no redundancy, so a grossly wrong call would not have been \
             seen{}",
            rows(r),
            if outliers_expected {
                " although --outliers was given."
            } else {
                " (give --outliers P to plan redundant calls that find them)."
            }
        ),
        Status::IllConditioned { rows: r, condition, predicted_error } => format!(
            "Every row determined, but ILL-CONDITIONED: {} with condition numbers up to {condition:.1e}, implying \
             relative errors up to {predicted_error:.1e} (--condition-tolerance {condition_tolerance:e}).",
            rows(r)
        ),
        Status::SolverLimit { rows: r, limit } => format!(
            "Every row determined, but SOLVER LIMIT: on {} the solver stopped before its optimum ({}), so outliers \
             may be misjudged.",
            rows(r),
            limit.name()
        ),
        other => format!("INCOMPLETE: {} undetermined, their unknown entries are NaN.", rows(other.rows())),
    }
}

/// Names the first few erasures: "call 3 (the blackbox failed: …); call 9 (…)".
pub fn list_erasures(erasures: &[jacsense::Erasure]) -> String {
    const SHOWN: usize = 3;
    let mut parts: Vec<String> =
        erasures.iter().take(SHOWN).map(|e| format!("call {} ({})", e.call, e.reason)).collect();
    if erasures.len() > SHOWN {
        parts.push(format!("{} more in the report", erasures.len() - SHOWN));
    }
    parts.join("; ")
}

/// "; no call judged an outlier. " or "; 3 calls judged outliers (4, 9, 14). ".
pub fn list_outliers(calls: &[usize]) -> String {
    const SHOWN: usize = 10;
    match calls.len() {
        0 => "; no call judged an outlier. ".to_string(),
        k => {
            let shown: Vec<String> = calls.iter().take(SHOWN).map(|c| c.to_string()).collect();
            format!("; {k} calls judged outliers ({}{}). ", shown.join(", "), if k > SHOWN { ", …" } else { "" })
        }
    }
}

/// The one-paragraph summary of a Jacobian estimate.
pub fn estimate_summary(plan: &Plan, est: &Estimate, timing: &Timing, facts: &RunFacts, written: &[String]) -> String {
    let d = est.diagnostics();
    let (n, m) = plan.structure().dims();
    let mut s = format!(
        "jacsense: J ({m}×{n}, {} unknowns) from {} calls in {:.2} s",
        plan.structure().intrinsic_dimension(),
        d.calls + facts.extra_calls,
        timing.total
    );
    if facts.workers > 0 {
        s += &format!(" with {} worker{}", facts.workers, if facts.workers == 1 { "" } else { "s" });
    }
    if d.rounds.len() > 1 {
        let per: Vec<String> = d.rounds.iter().map(|r| r.calls.to_string()).collect();
        s += &format!(", in {} rounds ({} calls)", d.rounds.len(), per.join(" + "));
    }
    s += &format!(" (design {}", d.design.name());
    if let Some((o, colors)) = d.colors {
        s += &format!(", {colors} colors by {o}");
    }
    s += &format!(", decoder {}; lower bound ρ_max = {}). ", d.decoder, plan.lower_bound());
    match d.erasures.len() {
        0 => s += "No erasures",
        k => s += &format!("{k} erasure{}: {}", if k == 1 { "" } else { "s" }, list_erasures(&d.erasures)),
    }
    s += &list_outliers(&d.outliers.iter().map(|o| o.call).collect::<Vec<_>>());
    if let Some(noise) = d.noise {
        s += &format!("Noise level seen: {noise:.2e}. ");
    }
    let settings = plan.settings();
    s += &status_sentence(&est.status(), settings.outliers > 0.0, settings.condition_tolerance);
    finish_summary(s, written, facts)
}

/// Appends what was written and where the log is.
pub fn finish_summary(mut s: String, written: &[String], facts: &RunFacts) -> String {
    if written.is_empty() {
        s += " Nothing written (no --output or --report given).";
    } else {
        s += &format!(" Wrote {}.", written.join(", "));
    }
    if let Some(log) = &facts.log {
        s += &format!(" Workers' stderr: {}.", log.display());
    }
    s
}

/// Writes the outputs of a Jacobian estimate, prints the summary and returns the exit
/// code of its status ([`status_exit_code`]).
pub fn finish_estimate(
    command: &str,
    plan: &Plan,
    est: &Estimate,
    timing: &Timing,
    facts: &RunFacts,
    out: &OutputArgs,
) -> Result<u8, Failure> {
    crate::workers::check_interrupted()?;
    let mut written = Vec::new();
    if let Some(path) = &out.output {
        write_matrix(path, est.jacobian())?;
        written.push(describe_output("J", path));
    }
    if let Some(path) = &out.report {
        write_json(path, &estimate_json(command, plan, est, timing, facts))?;
        written.push(format!("the report to {}", path.display()));
    }
    if !out.quiet {
        eprintln!("{}", estimate_summary(plan, est, timing, facts, &written));
    }
    Ok(status_exit_code(&est.status(), plan.settings().outliers > 0.0))
}

/// "J to j.mtx" or "J to stdout".
pub fn describe_output(what: &str, path: &Path) -> String {
    if path.as_os_str() == "-" { format!("{what} to stdout (JSON)") } else { format!("{what} to {}", path.display()) }
}
