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
//! jointly has about half the unknowns of its pattern).

use jacsense::coloring::{best_column_coloring, best_star_coloring};
use jacsense::problems::{
    GradientField, Problem, arrowhead, laplacian_2d, laplacian_3d, random_pattern, random_symmetric_matrix,
    relative_error,
};
use jacsense::structure::{Coupling, Relation};
use jacsense::{Blackbox, Pattern, Plan, Settings, SparseMatrix, Structure, from_fn};

fn row(
    name: &str,
    f: &(dyn Blackbox + Sync),
    x0: &[f64],
    structure: &Structure,
    truth: &SparseMatrix,
    colored: String,
) {
    let plan = Plan::new(structure, x0, &Settings::default()).expect("valid plan");
    let est = plan.evaluate(f).expect("the blackbox fits").decode();
    let (n, m) = f.dims();
    println!(
        "| {name} | {n} | {m} | {} | {} | {} | {colored} | {} ({}) | {:.1e} |",
        plan.structure().intrinsic_dimension(),
        plan.lower_bound(),
        n + 1,
        plan.calls(),
        plan.settings().design.name(),
        relative_error(est.jacobian(), truth)
    );
}

fn main() {
    println!("| structure | n | m | d | lower bound | coordinate | colored / star | jacsense (design) | error |");
    println!("|---|---|---|---|---|---|---|---|---|");
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
}
