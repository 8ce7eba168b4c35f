//! Issue 13, point 3: calls and accuracy of `A` and `B` for the three scenes, against a
//! reference by central differences at a small step.
//!
//! `cargo run --release -p jacsense-rapier --example scenes [-- --quick]`

mod common;

use common::{forward_differences, join, quick, reference, rel_err};
use jacsense::{Settings, Structure};
use jacsense_rapier::{Dynamics, scenes};

fn row(
    name: &str,
    d: &Dynamics,
    point: &[f64],
    structure: &Structure,
    settings: &Settings,
    r: &faer::Mat<f64>,
) -> (usize, f64) {
    let est = jacsense::jacobian_with(d, point, structure, settings).expect("estimate");
    let j = est.dense();
    let (nx, n) = (d.nx(), d.nx() + d.nu());
    let calls = est.diagnostics().calls;
    let all = rel_err(&j, r, 0..n);
    let rounds = est.diagnostics().rounds.len();
    let design = match rounds {
        0 | 1 => est.diagnostics().design.name().to_string(),
        r => format!("{}, {r} rounds", est.diagnostics().design.name()),
    };
    println!(
        "| {name} | {calls} | {:.1e} | {:.1e} | {all:.1e} | {design} | {} |",
        rel_err(&j, r, 0..nx),
        rel_err(&j, r, nx..n),
        est.status().name()
    );
    (calls, all)
}

fn main() {
    let boxes_count = if quick() { 2 } else { 4 };
    let mut boxes = scenes::boxes(boxes_count).expect("boxes");
    // Landed and resting: 30 steps (0.5 s) without push.
    for _ in 0..30 {
        boxes.advance(&boxes.u0()).expect("advance");
    }
    let cases: Vec<(String, Dynamics, Vec<f64>)> = vec![
        ("(a) 7-joint arm".into(), scenes::arm().expect("arm"), vec![0.0; 7]),
        ("(b) 20 double pendulums".into(), scenes::double_pendulums(20).expect("pendulums"), vec![0.0; 40]),
        (
            format!("(c) {boxes_count} boxes pushed on the ground (20 N, sticking)"),
            boxes,
            (0..boxes_count).flat_map(|_| [20.0, 0.0]).collect(),
        ),
    ];
    let mut b_target = None;
    for (name, d, u) in &cases {
        let point = join(&d.x0(), u);
        let (n, m) = (d.nx() + d.nu(), d.nx());
        let structure = d.structure().expect("structure");
        let (_, groups) = d.groups();
        println!(
            "\n{name}: nx = {}, nu = {}, interaction groups {groups}, relations {}, unknowns {} of {}, lower bound on directions {}\n",
            d.nx(),
            d.nu(),
            d.relations().len(),
            structure.intrinsic_dimension(),
            m * n,
            structure.lower_bound()
        );
        let r = reference(d, &point);
        println!("reference: central differences at relative step 1e-6, {} calls\n", 2 * n);
        println!("| method | calls | rel. error A | rel. error B | rel. error [A B] | design | status |");
        println!("|---|---|---|---|---|---|---|");
        let (dense_calls, dense_err) = row(
            "dense forward differences (1 + nx + nu)",
            d,
            &point,
            &Structure::dense(m, n),
            &forward_differences(),
            &r,
        );
        let (calls, err) = row(
            "jacsense, derived structure (`jacsense_rapier::settings()`: colored)",
            d,
            &point,
            &structure,
            &jacsense_rapier::settings(),
            &r,
        );
        row(
            "jacsense, derived structure, planner's choice (`Settings::default()`)",
            d,
            &point,
            &structure,
            &Settings::default(),
            &r,
        );
        row(
            "jacsense told nothing (adaptive session: dense structure, `Settings::default()`)",
            d,
            &point,
            &Structure::dense(m, n),
            &Settings::default(),
            &r,
        );
        if name.starts_with("(b)") {
            b_target = Some((calls, dense_calls, err, dense_err));
        }
    }
    println!(
        "\njacsense told nothing: `jacobian_with` on a dense structure with `Design::Auto` runs the core's told-nothing session (random orthonormal rounds, each row recovered sparsely and validated on held-back calls)."
    );
    if let Some((calls, dense_calls, err, dense_err)) = b_target {
        println!(
            "\ntarget (b): derived structure {calls} calls = {:.1}% of dense forward differences' {dense_calls} (≤ 10%: {}), error {err:.1e} = {:.2}× theirs {dense_err:.1e} (≤ 2×: {})",
            100.0 * calls as f64 / dense_calls as f64,
            if calls * 10 <= dense_calls { "met" } else { "NOT met" },
            err / dense_err,
            if err <= 2.0 * dense_err { "met" } else { "NOT met" }
        );
    }
}
