//! Issue 13, point 4: tracking `J = [A B]` along a rollout of each scene.
//!
//! Ways to have `J` at every step, all given the rollout's own step `f(x_t, u_t)`
//! (counted as one call in every method):
//! - dense forward differences at every step (`1 + nx + nu` calls);
//! - jacsense from scratch at every step (derived structure, colored design);
//! - jacsense with a prior (the core's `Tracker`): the previous estimates predict `J`,
//!   `k` calls update it (along the directions the filters are least sure of), held-back
//!   random calls validate it (and then join the update), a failed validation adds a
//!   larger round, and then re-senses from scratch; with the default `TrackSettings`
//!   (a fourth-order filter, two rounds, active directions) and the same with random
//!   update directions;
//! - Broyden's update from the rollout's own secant pairs (no extra call; drifts).
//!
//! Errors are relative Frobenius errors of `[A B]` against central differences at a
//! small step, at every step. Writes a plot (SVG) of error and calls per step.
//!
//! `cargo run --release -p jacsense-rapier --example tracking [-- --quick] [--steps N] [--plot FILE]`
//! `[--order P] [--directions K] [--validation V] [--tolerance T] [--drift Q] [--rounds R]`
//! `[--random] [--margin M]` (the prior's `TrackSettings`; `--random`: random update
//! directions; `--margin 0`: every update call, not by need)
//! `[--scene NAME]` (only the scenes whose name starts with NAME, e.g. `arm`)
//! `[--seed S]` (the trackers' seed) `[--trace]` (the prior's calls, validation error and error at every step, on stderr)
//! `[--replay]` (also the prior's filter at its best: exact linear calls along the same
//! rollout, every step accepted, for 2 to 5 update directions per step)

mod common;

use common::{forward_differences, join, quick, reference, rel_err, sense};
use jacsense::{Scheme, TrackSettings, Tracker};
use jacsense_rapier::{Dynamics, scenes};
use plotters::prelude::*;

/// One method's record along the rollout.
#[derive(Default, Clone)]
struct Series {
    calls: Vec<usize>,
    error: Vec<f64>,
    flagged: Vec<bool>,
}

struct SceneRun {
    name: String,
    n: usize,
    series: [Series; 5],
    /// Steps where the reference `J` jumped (relative change above 1e-2): contact changes.
    jumps: Vec<usize>,
    /// Relative first to fourth differences of the reference `J` from step to step
    /// (the error of predicting it by the polynomial of degree 0 to 3 through the
    /// steps before).
    first: Vec<f64>,
    second: Vec<f64>,
    third: Vec<f64>,
    fourth: Vec<f64>,
    /// Steps where the tracker's update (before validation) was off by more than 1e-3.
    bad_updates: Vec<usize>,
    unflagged_above: Vec<usize>,
    /// The ideal replay (`--replay`): per number of update directions, the calls per
    /// step (with the rollout's) and the largest and median error after the start.
    replay: Vec<(usize, usize, f64, f64)>,
}

const METHODS: [&str; 5] = [
    "differences every step",
    "jacsense from scratch every step",
    "jacsense with the prior",
    "Broyden's update",
    "jacsense with the prior, random update directions",
];

fn controls(scene: &str, t: usize, steps: usize, dt: f64, nu: usize) -> Vec<f64> {
    match scene {
        // The arm follows motor targets 0.4 sin(2 s⁻¹ · time + j) rad.
        s if s.starts_with("arm") => (0..nu).map(|j| 0.4 * (2.0 * t as f64 * dt + j as f64).sin()).collect(),
        // Boxes: a push along X ramping from 0 to (30 + 10k) N · 4/3 over the rollout:
        // static friction holds up to about 39 N, so each box starts sliding at its own
        // step; nothing along Z.
        s if s.starts_with("boxes") => (0..nu)
            .map(|j| if j % 2 == 0 { (30.0 + 10.0 * (j / 2) as f64) * t as f64 / (0.75 * steps as f64) } else { 0.0 })
            .collect(),
        _ => vec![0.0; nu],
    }
}

fn run(scene: &str, mut d: Dynamics, steps: usize, track: &TrackSettings, seed: Option<u64>) -> SceneRun {
    let trace = std::env::args().any(|a| a == "--trace");
    let (nx, nu) = (d.nx(), d.nu());
    let n = nx + nu;
    let structure = d.structure().expect("structure");
    let mut settings = jacsense_rapier::settings();
    if let Some(seed) = seed {
        settings.seed = seed;
    }
    let scratch = Scheme::new(&structure, &settings).expect("scheme");
    let differences = Scheme::new(&jacsense::Structure::dense(nx, n), &forward_differences()).expect("scheme");
    let mut tracker = Tracker::new(&structure, &settings, track.clone()).expect("tracker");
    let random = TrackSettings { active: false, ..track.clone() };
    let mut random_tracker = Tracker::new(&structure, &settings, random).expect("tracker");
    let mut series: [Series; 5] = Default::default();
    let mut broyden: Option<(faer::Mat<f64>, Vec<f64>, Vec<f64>)> = None; // (J, z, f(z))
    let mut previous_ref: Option<faer::Mat<f64>> = None;
    // The references of the steps before, latest first (at most 4).
    let mut history: Vec<faer::Mat<f64>> = Vec::new();
    let (mut first, mut second, mut third, mut fourth) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut jumps, mut bad_updates, mut unflagged_above) = (Vec::new(), Vec::new(), Vec::new());
    let mut trajectory: Vec<(Vec<f64>, Vec<f64>, faer::Mat<f64>)> = Vec::new(); // (z, f(z), reference J)
    for t in 0..steps {
        let u = controls(scene, t, steps, d.dt(), nu);
        let x = d.x0();
        let z = join(&x, &u);
        let f0 = d.step(&x, &u).expect("step");
        let r = reference(&d, &z);
        // Finite differences of order 1 to 4 (binomial weights) relative to J.
        for (order, out) in [(2usize, &mut second), (3, &mut third), (4, &mut fourth)] {
            if history.len() >= order {
                let weights: Vec<f64> = match order {
                    2 => vec![2.0, -1.0],
                    3 => vec![3.0, -3.0, 1.0],
                    _ => vec![4.0, -6.0, 4.0, -1.0],
                };
                let extrapolated = faer::Mat::from_fn(r.nrows(), r.ncols(), |i, c| {
                    weights.iter().zip(&history).map(|(w, h)| w * h[(i, c)]).sum::<f64>()
                });
                out.push(rel_err(&extrapolated, &r, 0..n));
            }
        }
        if let Some(p) = &previous_ref {
            let change = rel_err(p, &r, 0..n);
            first.push(change);
            if change > 1e-2 {
                jumps.push(t);
            }
        }
        // Differences and scratch.
        for (k, scheme) in [(0, &differences), (1, &scratch)] {
            let (j, calls, _) = sense(&d, scheme, &z, &f0);
            series[k].calls.push(calls + 1);
            series[k].error.push(rel_err(&j, &r, 0..n));
            series[k].flagged.push(false);
        }
        // The prior.
        let tracked = tracker.estimate(&d, &z, Some(&f0)).expect("tracker");
        let j = tracked.jacobian.to_dense();
        let err = rel_err(&j, &r, 0..n);
        series[2].calls.push(tracked.calls + 1);
        series[2].error.push(err);
        series[2].flagged.push(tracked.resensed && t > 0);
        if trace {
            eprintln!(
                "{scene} step {t}: calls {}, re-sensed {}, validation error {:.1e}, error {err:.1e}",
                tracked.calls + 1,
                tracked.resensed,
                tracked.validation_error.unwrap_or(f64::NAN)
            );
        }
        if tracked.resensed && t > 0 && tracked.validation_error.is_some_and(|e| e > 1e-3) {
            bad_updates.push(t);
        }
        if !tracked.resensed && err > 1e-3 {
            unflagged_above.push(t);
        }
        let tracked = random_tracker.estimate(&d, &z, Some(&f0)).expect("tracker");
        series[4].calls.push(tracked.calls + 1);
        series[4].error.push(rel_err(&tracked.jacobian.to_dense(), &r, 0..n));
        series[4].flagged.push(tracked.resensed && t > 0);
        // Broyden: secant pair from the previous step (z_{t−1} → z_t, f(z_{t−1}) → f(z_t)).
        let jb = match broyden.take() {
            None => sense(&d, &scratch, &z, &f0).0,
            Some((mut jb, zp, fp)) => {
                let s: Vec<f64> = z.iter().zip(&zp).map(|(a, b)| a - b).collect();
                let ss: f64 = s.iter().map(|v| v * v).sum();
                if ss > 0.0 {
                    for i in 0..nx {
                        let js: f64 = (0..n).map(|c| jb[(i, c)] * s[c]).sum();
                        let resid = (f0[i] - fp[i]) - js;
                        for c in 0..n {
                            jb[(i, c)] += resid * s[c] / ss;
                        }
                    }
                }
                jb
            }
        };
        series[3].calls.push(if t == 0 { scratch.calls() } else { 1 });
        series[3].error.push(rel_err(&jb, &r, 0..n));
        series[3].flagged.push(false);
        // The snapshot's x_{t+1} is f0 in the old chart; z for the next secant pair is
        // in the new chart (equal for joint coordinates; rotations are re-centred).
        trajectory.push((z.clone(), f0.clone(), r.clone()));
        broyden = Some((jb, z, f0));
        history.insert(0, r.clone());
        history.truncate(4);
        previous_ref = Some(r);
        // Broyden's next secant pair mixes charts for the boxes' rotations (re-centred at
        // every step): part of its drift there.
        d.advance(&u).expect("advance");
    }
    // The replay needs a smooth J (the arm's): across contact jumps or the pendulums'
    // fast swings no filter that is never re-sensed can follow.
    let replay = if scene.starts_with("arm") && std::env::args().any(|a| a == "--replay") {
        [2, 3, 4, 5].into_iter().map(|k| ideal_replay(&trajectory, &structure, &settings, track, k)).collect()
    } else {
        Vec::new()
    };
    SceneRun {
        name: scene.into(),
        n,
        series,
        jumps,
        first,
        second,
        third,
        fourth,
        bad_updates,
        unflagged_above,
        replay,
    }
}

/// The prior's filter at its best: along the same rollout, each step's calls go to the
/// exact linearization `g(z) = f(z_t) + J_t (z − z_t)` (the reference `J_t`: no
/// truncation error, no noise), `k` update directions and the held-back call joining
/// the update at every step, every step accepted (no validation can fail, no second
/// round, no re-sense after the start). Its errors are what the filter's model of how
/// `J` changes allows with `k + 1` measurements per step; a real tracker, whose
/// validation must also hold, can only do worse at the same calls.
fn ideal_replay(
    trajectory: &[(Vec<f64>, Vec<f64>, faer::Mat<f64>)],
    structure: &jacsense::Structure,
    settings: &jacsense::Settings,
    track: &TrackSettings,
    k: usize,
) -> (usize, usize, f64, f64) {
    let ideal = TrackSettings { directions: k, tolerance: f64::MAX, rounds: 1, margin: 0.0, ..track.clone() };
    let mut tracker = Tracker::new(structure, settings, ideal).expect("tracker");
    let (mut calls, mut errors) = (0, Vec::new());
    for (t, (z, f0, r)) in trajectory.iter().enumerate() {
        let (n, m) = (z.len(), f0.len());
        let g = jacsense::from_fn(n, m, |x: &[f64], y: &mut [f64]| {
            for (i, yi) in y.iter_mut().enumerate() {
                *yi = f0[i] + (0..n).map(|c| r[(i, c)] * (x[c] - z[c])).sum::<f64>();
            }
        });
        let est = tracker.estimate(&g, z, Some(f0)).expect("tracker");
        // From step 60: started from one full sense, the filters take some 50 steps of
        // projections to learn the rates and higher coefficients a real tracker gets from
        // its first full senses.
        if t >= 60 {
            calls += est.calls + 1;
            errors.push(rel_err(&est.jacobian.to_dense(), r, 0..n));
        }
    }
    errors.sort_by(f64::total_cmp);
    let steps = errors.len().max(1);
    (k, calls.div_ceil(steps), errors.last().copied().unwrap_or(f64::NAN), errors[errors.len() / 2])
}

fn table(runs: &[SceneRun]) {
    println!(
        "| scene | method | calls | calls per step | % of differences | max error | median error | steps re-sensed |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for run in runs {
        let base: usize = run.series[0].calls.iter().sum();
        for (k, s) in run.series.iter().enumerate() {
            let total: usize = s.calls.iter().sum();
            let mut e = s.error.clone();
            e.sort_by(f64::total_cmp);
            let steps = s.calls.len() as f64;
            println!(
                "| {} | {} | {total} | {:.1} | {:.1}% | {:.1e} | {:.1e} | {} |",
                run.name,
                METHODS[k],
                total as f64 / steps,
                100.0 * total as f64 / base as f64,
                e.last().copied().unwrap_or(0.0),
                e[e.len() / 2],
                if k == 2 || k == 4 { s.flagged.iter().filter(|&&f| f).count().to_string() } else { "—".into() },
            );
        }
    }
    println!();
    println!(
        "| scene | n = nx + nu | median change of J per step | median change of its rate per step | median 3rd difference | median 4th difference | steps where the reference J jumped by >1e-2 | of them flagged (re-sensed) by the prior | steps re-sensed | updates off by >1e-3 before validation | accepted steps with error >1e-3 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for run in runs {
        let s = &run.series[2];
        let caught = run.jumps.iter().filter(|&&t| s.flagged[t]).count();
        println!(
            "| {} | {} | {:.1e} | {:.1e} | {:.1e} | {:.1e} | {} | {caught} | {} | {} | {} |",
            run.name,
            run.n,
            median(&run.first),
            median(&run.second),
            median(&run.third),
            median(&run.fourth),
            run.jumps.len(),
            s.flagged.iter().filter(|&&f| f).count(),
            run.bad_updates.len(),
            run.unflagged_above.len()
        );
    }
}

fn replay_table(runs: &[SceneRun]) {
    if runs.iter().all(|r| r.replay.is_empty()) {
        return;
    }
    println!();
    println!("The prior's filter at its best (`--replay`): exact linear calls, every step accepted, steps 60 on");
    println!();
    println!(
        "| scene | update directions k | calls per step (k, the held-back call, the rollout's) | % of differences | max error | median error |"
    );
    println!("|---|---|---|---|---|---|");
    for run in runs {
        let per_step = run.series[0].calls.iter().sum::<usize>() as f64 / run.series[0].calls.len() as f64;
        for &(k, calls, max, median) in &run.replay {
            println!(
                "| {} | {k} | {calls} | {:.1}% | {max:.1e} | {median:.1e} |",
                run.name,
                100.0 * calls as f64 / per_step
            );
        }
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn plot(runs: &[SceneRun], path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1200, 380 * runs.len() as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let rows = root.split_evenly((runs.len(), 2));
    let colors = [RED, BLUE, GREEN, MAGENTA, CYAN];
    for (r, run) in runs.iter().enumerate() {
        let steps = run.series[0].error.len();
        let emin =
            run.series.iter().flat_map(|s| s.error.iter()).copied().filter(|e| *e > 0.0).fold(f64::INFINITY, f64::min);
        let emax = run.series.iter().flat_map(|s| s.error.iter()).copied().fold(0.0, f64::max);
        let mut chart = ChartBuilder::on(&rows[2 * r])
            .caption(format!("{}: relative error of [A B] per step", run.name), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0..steps, (emin.max(1e-14) / 2.0..emax.max(1e-12) * 2.0).log_scale())?;
        chart.configure_mesh().x_desc("step").y_desc("error").draw()?;
        for (k, s) in run.series.iter().enumerate() {
            let c = colors[k];
            chart
                .draw_series(LineSeries::new(s.error.iter().enumerate().map(|(t, e)| (t, e.max(1e-14))), c))?
                .label(METHODS[k])
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
        let cmax = run.series.iter().flat_map(|s| s.calls.iter()).copied().max().unwrap_or(1);
        let mut chart = ChartBuilder::on(&rows[2 * r + 1])
            .caption(format!("{}: calls per step", run.name), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0..steps, 0..cmax + 2)?;
        chart.configure_mesh().x_desc("step").y_desc("calls").draw()?;
        for (k, s) in run.series.iter().enumerate() {
            chart.draw_series(LineSeries::new(s.calls.iter().enumerate().map(|(t, &c)| (t, c)), colors[k]))?;
        }
    }
    root.present()?;
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let steps: usize = value("--steps").and_then(|s| s.parse().ok()).unwrap_or(if quick() { 60 } else { 200 });
    let plot_path = value("--plot").unwrap_or_else(|| {
        if quick() {
            std::env::temp_dir().join("jacsense-rapier-tracking.svg").display().to_string()
        } else {
            concat!(env!("CARGO_MANIFEST_DIR"), "/tracking.svg").to_string()
        }
    });
    let defaults = TrackSettings::default();
    let track = TrackSettings {
        order: value("--order").and_then(|s| s.parse().ok()).unwrap_or(defaults.order),
        directions: value("--directions").and_then(|s| s.parse().ok()).unwrap_or(defaults.directions),
        validation: value("--validation").and_then(|s| s.parse().ok()).unwrap_or(defaults.validation),
        tolerance: value("--tolerance").and_then(|s| s.parse().ok()).unwrap_or(defaults.tolerance),
        rounds: value("--rounds").and_then(|s| s.parse().ok()).unwrap_or(defaults.rounds),
        drift: value("--drift").and_then(|s| s.parse().ok()).unwrap_or(defaults.drift),
        active: !args.iter().any(|a| a == "--random"),
        margin: value("--margin").and_then(|s| s.parse().ok()).unwrap_or(defaults.margin),
    };
    let seed: Option<u64> = value("--seed").and_then(|s| s.parse().ok());
    println!("{steps}-step rollouts; prior: {track:?}\n");
    let only = value("--scene");
    let wanted = |name: &str| only.as_deref().is_none_or(|o| name.starts_with(o));
    let mut runs = Vec::new();
    if wanted("arm (dt 10 ms)") {
        runs.push(run("arm (dt 10 ms)", scenes::arm().expect("arm"), steps, &track, seed));
    }
    if wanted("arm (dt 1 ms)") {
        runs.push(run("arm (dt 1 ms)", scenes::arm_with_dt(0.001).expect("arm"), steps, &track, seed));
    }
    if wanted("pendulums") {
        runs.push(run(
            "pendulums",
            scenes::double_pendulums(if quick() { 5 } else { 20 }).expect("pendulums"),
            steps,
            &track,
            seed,
        ));
    }
    if wanted("boxes (contact)") {
        runs.push(run(
            "boxes (contact)",
            scenes::boxes(if quick() { 2 } else { 4 }).expect("boxes"),
            steps,
            &track,
            seed,
        ));
    }
    table(&runs);
    replay_table(&runs);
    match plot(&runs, &plot_path) {
        Ok(()) => println!("\nplot: {plot_path}"),
        Err(e) => eprintln!("plot not written: {e}"),
    }
}
