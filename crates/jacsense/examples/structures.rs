//! Coupled structures: intrinsic dimension, lower bound and calls per method.
//!
//! Run: `cargo run --release -p jacsense --example structures`
//!
//! For Hessians of gradient blackboxes (symmetric), a convolution with tied diagonals
//! and an integrator step with relation rows: the intrinsic dimension `d`, the lower
//! bound on directions, the calls of coordinate differences, of coloring (column, or
//! star for symmetric patterns), and of jacsense's plan, with the relative error of
//! jacsense's estimate against the analytic Jacobian. `d` and the lower bound are
//! those of the structure the plan decodes (a symmetric structure the planner decodes
//! jointly has about half the unknowns of its pattern). Where the plan decodes
//! jointly, the same calls are also decoded by substitution.
//!
//! A second table: the same structures with a fraction of the calls grossly wrong
//! (joint L1 decoding, planned from the expected fraction), against the row-wise robust
//! plan of the same pattern without its coupling; a third: the fewest directions that
//! decode 10 of 10 corrupted seeds exactly, the measured basis of the planner's rule.

use jacsense::coloring::{best_column_coloring, best_star_coloring};
use std::time::Instant;

use jacsense::{
    Blackbox, DecoderChoice, Design, Pattern, Plan, RandomDistribution, Settings, SparseMatrix, Structure, from_fn,
};
use jacsense::{Coupling, Relation};
use jacsense_problems::{
    GradientField, Problem, arrowhead, corrupted_measurements, laplacian_2d, laplacian_3d, outlier_scores,
    random_pattern, random_symmetric_matrix, relative_error, tied_convolution,
};

fn row(
    name: &str,
    f: &(dyn Blackbox + Sync),
    x0: &[f64],
    structure: &Structure,
    truth: &SparseMatrix,
    colored: String,
) {
    let plan = Plan::new(structure, x0, &Settings::default()).expect("valid plan");
    let meas = plan.evaluate(f).expect("the blackbox fits");
    let est = meas.decode();
    let substituted = if plan.structure().parametrization().is_some() {
        format!(
            "{:.1e}",
            relative_error(meas.decode_as(DecoderChoice::Substitution).expect("a coupled structure").jacobian(), truth)
        )
    } else {
        "–".into()
    };
    let (n, m) = f.dims();
    // d and the lower bound of what is known, whichever design the planner took (a
    // star design decodes rows alone, but the symmetry is still known).
    let known = match structure.parametrization() {
        None if structure.is_symmetric() => {
            structure.clone().with_coupling(Coupling::default()).expect("a symmetric structure couples")
        }
        _ => plan.structure().clone(),
    };
    println!(
        "| {name} | {n} | {m} | {} | {} | {} | {colored} | {} ({}) | {:.1e} | {substituted} |",
        known.intrinsic_dimension(),
        known.lower_bound(),
        n + 1,
        plan.calls(),
        plan.settings().design.name(),
        relative_error(est.jacobian(), truth)
    );
}

fn main() {
    println!(
        "| structure | n | m | d | lower bound | coordinate | colored / star | jacsense (design) | error | error (substitution) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let hessians = [
        ("Hessian, arrowhead", arrowhead(300)),
        ("Hessian, banded bw 3", Pattern::banded(200, 200, 3, 3)),
        ("Hessian, 2D Laplacian 15²", laplacian_2d(15)),
        ("Hessian, 2D Laplacian 30²", laplacian_2d(30)),
        ("Hessian, 3D Laplacian 6³", laplacian_3d(6)),
        ("Hessian, random graph 200", random_pattern(200, 200, 3, 5)),
    ];
    for (name, pattern) in hessians {
        let g = GradientField { h: random_symmetric_matrix(pattern, 11) };
        let structure = Structure::symmetric(g.pattern()).expect("square");
        let star = best_star_coloring(structure.pattern()).expect("symmetric").1.num_colors();
        let column = best_column_coloring(structure.pattern()).1.num_colors();
        let x0 = g.x0();
        row(name, &g, &x0, &structure, &g.jacobian(&x0), format!("{} / {}", column + 1, star + 1));
    }

    // A convolution with an unknown kernel: each diagonal tied.
    let (n, w) = (10_000, 5);
    let kernel = [0.5, -1.25, 2.0, 0.75, -0.3];
    let half = w / 2;
    let conv = from_fn(n, n, move |x: &[f64], y: &mut [f64]| {
        for (i, yi) in y.iter_mut().enumerate() {
            *yi = (0..w).filter_map(|o| (i + o).checked_sub(half).filter(|&j| j < n).map(|j| kernel[o] * x[j])).sum();
        }
    });
    let pattern = Pattern::banded(n, n, half, half);
    let ties = (0..w)
        .map(|o| (0..n).filter_map(|i| (i + o).checked_sub(half).filter(|&j| j < n).map(|j| (i, j, 1.0))).collect())
        .collect();
    let structure = Structure::sparse(pattern.clone()).with_coupling(Coupling { ties, ..Coupling::default() }).unwrap();
    let truth = SparseMatrix::new(pattern.clone(), pattern.entries().map(|(i, j)| kernel[j + half - i]).collect())
        .expect("one value per entry");
    let x0: Vec<f64> = (0..n).map(|i| (i as f64 * 0.01).sin()).collect();
    let chi = best_column_coloring(&pattern).1.num_colors();
    row("convolution, width 5, tied diagonals", &conv, &x0, &structure, &truth, format!("{}", chi + 1));

    // A semi-implicit integrator step with the q' rows declared as relations.
    let (s, dt) = (10, 0.05);
    let accel = move |q: &[f64], v: &[f64], i: usize| -q[i].sin() - 0.5 * v[i] + 0.3 * q[(i + 1) % s] * v[i];
    let step = from_fn(2 * s, 2 * s, move |x: &[f64], y: &mut [f64]| {
        let (q, v) = x.split_at(s);
        for i in 0..s {
            y[s + i] = v[i] + dt * accel(q, v, i);
            y[i] = q[i] + dt * y[s + i];
        }
    });
    let rows: Vec<Vec<usize>> =
        (0..2 * s).map(|r| if r < s { vec![] } else { vec![r - s, (r - s + 1) % s, r] }).collect();
    let relations =
        (0..s).map(|i| Relation { row: i, combination: vec![(s + i, dt)], constant: vec![(i, 1.0)] }).collect();
    let structure = Structure::sparse(Pattern::from_rows(2 * s, &rows).expect("in range"))
        .with_coupling(Coupling { relations, ..Coupling::default() })
        .expect("consistent");
    let x0: Vec<f64> = (0..2 * s).map(|i| 0.3 + 0.1 * i as f64).collect();
    let (q, v) = x0.split_at(s);
    let mut triplets = Vec::new();
    for i in 0..s {
        let n1 = (i + 1) % s;
        let row_v = [(i, dt * -q[i].cos()), (n1, dt * 0.3 * v[i]), (s + i, 1.0 + dt * (-0.5 + 0.3 * q[n1]))];
        for (j, a) in row_v {
            triplets.push((s + i, j, a));
            triplets.push((i, j, dt * a));
        }
        triplets.push((i, i, 1.0));
    }
    let truth = SparseMatrix::from_triplets(2 * s, 2 * s, &triplets).expect("in range");
    let chi = best_column_coloring(structure.pattern()).1.num_colors();
    row("integrator step, q' rows as relations", &step, &x0, &structure, &truth, format!("{}", chi + 1));

    substitution_table();
    robust_tables();
}

/// Substitution against the joint least squares on the same calls, from the fewest
/// directions substitution needs up.
fn substitution_table() {
    println!();
    println!("Substitution (`DecoderChoice::Substitution`) and joint least squares on the same calls:");
    println!();
    println!("| structure | directions | substitution error | ms | joint least squares error | ms |");
    println!("|---|---|---|---|---|---|");
    for (name, pattern) in [
        ("Hessian, 2D Laplacian 15²", laplacian_2d(15)),
        ("Hessian, 2D Laplacian 30²", laplacian_2d(30)),
        ("Hessian, 3D Laplacian 6³", laplacian_3d(6)),
    ] {
        let g = GradientField { h: random_symmetric_matrix(pattern, 5) };
        let structure = Structure::symmetric(g.pattern()).expect("square").with_coupling(Coupling::default()).unwrap();
        let x0 = g.x0();
        let truth = g.jacobian(&x0);
        let substitution = Settings { decoder: DecoderChoice::Substitution, ..Settings::default() };
        let planned = Plan::new(&structure, &x0, &substitution).expect("valid plan").measurements();
        for k in planned - 2..=planned + 1 {
            let settings = Settings {
                design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) },
                ..Settings::default()
            };
            let plan = Plan::new(&structure, &x0, &settings).expect("valid plan");
            let meas = plan.evaluate(&g).expect("the blackbox fits");
            let t = Instant::now();
            let sub = relative_error(
                meas.decode_as(DecoderChoice::Substitution).expect("a coupled structure").jacobian(),
                &truth,
            );
            let sub_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let joint = relative_error(meas.decode().jacobian(), &truth);
            let joint_ms = t.elapsed().as_secs_f64() * 1e3;
            let mark = if k == planned { " (planned)" } else { "" };
            println!("| {name} | {k}{mark} | {sub:.1e} | {sub_ms:.1} | {joint:.1e} | {joint_ms:.0} |");
        }
    }
}

/// A blackbox, the coupled structure it is decoded with, and the same pattern uncoupled.
struct Case {
    name: &'static str,
    f: Box<dyn Problem>,
    coupled: Structure,
    uncoupled: Structure,
}

fn robust_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (name, pattern) in [
        ("Hessian, arrowhead 300", arrowhead(300)),
        ("Hessian, 2D Laplacian 15²", laplacian_2d(15)),
        ("Hessian, 2D Laplacian 30²", laplacian_2d(30)),
        ("Hessian, 3D Laplacian 6³", laplacian_3d(6)),
    ] {
        let g = GradientField { h: random_symmetric_matrix(pattern, 5) };
        let uncoupled = Structure::symmetric(g.pattern()).expect("square");
        let coupled = uncoupled.clone().with_coupling(Coupling::default()).expect("consistent");
        cases.push(Case { name, f: Box::new(g), coupled, uncoupled });
    }
    let (f, coupled) = tied_convolution(2000, &[0.5, -1.25, 2.0, 0.75, -0.3]);
    let uncoupled = Structure::sparse(f.pattern());
    cases.push(Case { name: "convolution 2000, width 5, tied", f: Box::new(f), coupled, uncoupled });
    cases
}

fn robust_tables() {
    let cases = robust_cases();
    println!();
    println!("Grossly wrong calls (`Settings {{ outliers: p }}`, the planner's design and decoder):");
    println!();
    println!(
        "| structure | p | row-wise robust plan: calls | joint plan: calls | wrong calls | error (joint L1) | precision / recall | least squares, same calls | decode ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for case in &cases {
        let x0 = case.f.x0();
        let truth = case.f.jacobian(&x0);
        for p in [0.1, 0.2, 0.3] {
            let settings = Settings { outliers: p, ..Settings::default() };
            let rowwise = Plan::new(&case.uncoupled, &x0, &settings).expect("valid plan").calls();
            let plan = Plan::new(&case.coupled, &x0, &settings).expect("valid plan");
            let (meas, bad) = corrupted_measurements(&plan, case.f.as_ref(), p, 11);
            let t = Instant::now();
            let est = meas.decode();
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let flagged: Vec<usize> = est.diagnostics().outliers.iter().map(|o| o.call).collect();
            let (precision, recall) = outlier_scores(&flagged, &bad);
            let ls = meas.decode_as(DecoderChoice::LeastSquares).expect("a coupled structure");
            println!(
                "| {} | {p} | {rowwise} | {} | {} | {:.1e} | {precision:.2} / {recall:.2} | {:.1e} | {ms:.0} |",
                case.name,
                plan.calls(),
                bad.len(),
                relative_error(est.jacobian(), &truth),
                relative_error(ls.jacobian(), &truth),
            );
        }
    }
    println!();
    println!(
        "Fewest Gaussian directions k (k + 1 calls) for which joint L1 decodes 10 of 10 seeds to ≤ 1e-6 with every wrong call found and no clean one flagged:"
    );
    println!();
    println!("| structure | directions without outliers | p = 0.1 | p = 0.2 | p = 0.3 | planner at 0.1 / 0.2 / 0.3 |");
    println!("|---|---|---|---|---|---|");
    for case in &cases {
        let x0 = case.f.x0();
        let truth = case.f.jacobian(&x0);
        let needed = Plan::new(&case.coupled, &x0, &Settings::default()).expect("valid plan").measurements();
        let mut cells = Vec::new();
        let mut planned = Vec::new();
        for p in [0.1, 0.2, 0.3] {
            let settings = Settings { outliers: p, ..Settings::default() };
            planned.push(Plan::new(&case.coupled, &x0, &settings).expect("valid plan").measurements().to_string());
            let fewest = (needed..=4 * needed + 8).find(|&k| {
                let settings = Settings {
                    design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) },
                    decoder: DecoderChoice::L1,
                    ..Settings::default()
                };
                let plan = Plan::new(&case.coupled, &x0, &settings).expect("valid plan");
                (0..10).all(|seed| {
                    let (meas, bad) = corrupted_measurements(&plan, case.f.as_ref(), p, 100 + seed);
                    let est = meas.decode();
                    let flagged: Vec<usize> = est.diagnostics().outliers.iter().map(|o| o.call).collect();
                    let scores = outlier_scores(&flagged, &bad);
                    relative_error(est.jacobian(), &truth) <= 1e-6 && scores == (1.0, 1.0)
                })
            });
            cells.push(fewest.map_or("> 4·needed + 8".into(), |k| {
                let bad = (p * (k + 1) as f64).round();
                format!("{k} ({bad} wrong)")
            }));
        }
        println!("| {} | {needed} | {} | {} |", case.name, cells.join(" | "), planned.join(" / "));
    }
}
