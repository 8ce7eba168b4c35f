//! Gross errors: corrupted fraction of calls against accuracy, per design × decoder.
//!
//! Run: `cargo run --release -p jacsense --example robust`
//!
//! A smooth nonlinear function with a known pattern (n = m = 1000, 10 nonzeros per
//! row, ρ_max = 10). For each design, every call is evaluated, then a fraction of the
//! calls is replaced by garbage of four kinds in turn (huge values, random values, a
//! sign flip, a stale repeat of another call) and the values are decoded. A cell shows
//! the relative error of J; for decoders that flag outliers, also the precision and
//! recall of the flagged calls against the spoiled ones.

use jacsense::{DecoderChoice, Design, Measurements, Plan, RandomDistribution, Settings, Structure};
use jacsense_problems::{
    PatternFunction, Problem, corrupt_calls, evaluate_calls, outlier_scores, random_matrix, random_pattern,
    relative_error,
};

fn main() {
    let p = PatternFunction { a: random_matrix(random_pattern(1000, 1000, 10, 61), 62) };
    let structure = Structure::sparse(p.pattern());
    let x0 = p.x0();
    let truth = p.jacobian(&x0);
    let rho = structure.lower_bound();
    let fractions = [0.0, 0.05, 0.10, 0.20, 0.25, 0.30];

    let rainbow = Design::Rainbow { ordering: None, directions: Some(4 * rho) };
    let random = Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(4 * rho) };
    let rows: Vec<(&str, Settings)> = vec![
        ("coordinate, least squares", Settings { design: Design::Coordinate, ..Settings::default() }),
        ("colored, least squares", Settings { design: Design::Colored { ordering: None }, ..Settings::default() }),
        (
            "rainbow 4ρ, least squares",
            Settings { design: rainbow.clone(), decoder: DecoderChoice::LeastSquares, ..Settings::default() },
        ),
        ("random 4ρ, L1", Settings { design: random, decoder: DecoderChoice::L1, ..Settings::default() }),
        ("rainbow 4ρ, L1", Settings { design: rainbow, decoder: DecoderChoice::L1, ..Settings::default() }),
    ];
    println!("Relative error of J (calls in brackets; flagged calls: precision/recall), ρ_max = {rho}:\n");
    println!("| design, decoder | {} |", fractions.map(|f| format!("{:.0}% garbage", 100.0 * f)).join(" | "));
    println!("|---|{}", "---|".repeat(fractions.len()));
    for (name, settings) in &rows {
        let plan = Plan::new(&structure, &x0, settings).expect("valid plan");
        let clean = evaluate_calls(&plan, &p);
        let cells: Vec<String> = fractions
            .iter()
            .enumerate()
            .map(|(n, &fraction)| cell(&plan, clean.clone(), fraction, 100 + n as u64, &truth))
            .collect();
        println!("| {name} ({} calls) | {} |", plan.calls(), cells.join(" | "));
    }
    // The planner, told the fraction to expect.
    let cells: Vec<String> = fractions
        .iter()
        .enumerate()
        .map(|(n, &fraction)| {
            let settings = Settings { outliers: fraction, ..Settings::default() };
            let plan = Plan::new(&structure, &x0, &settings).expect("valid plan");
            let values = evaluate_calls(&plan, &p);
            format!("{} ({} calls)", cell(&plan, values, fraction, 100 + n as u64, &truth), plan.calls())
        })
        .collect();
    println!("| planner (`outliers` = the fraction) | {} |", cells.join(" | "));
}

fn cell(plan: &Plan, mut values: Vec<Vec<f64>>, fraction: f64, seed: u64, truth: &jacsense::SparseMatrix) -> String {
    let bad = corrupt_calls(&mut values, fraction, seed);
    let mut meas = Measurements::new(plan).expect("the measurements fit in memory");
    for (j, y) in values.iter().enumerate() {
        meas.tell(j, y).expect("one value per call");
    }
    let est = meas.decode();
    let err = relative_error(est.jacobian(), truth);
    if plan.settings().decoder != DecoderChoice::L1 {
        return format!("{err:.0e}");
    }
    let flagged: Vec<usize> = est.diagnostics().outliers.iter().map(|o| o.call).collect();
    let (precision, recall) = outlier_scores(&flagged, &bad);
    format!("{err:.0e} ({precision:.2}/{recall:.2})")
}
