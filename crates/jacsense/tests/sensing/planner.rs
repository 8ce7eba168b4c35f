//! The planner: design, decoder and calls chosen from what is known and expected, and
//! said before any call is made.

use jacsense::MAX_OUTLIER_FRACTION;
use jacsense::{DecoderChoice, Design, Error, Plan, Settings, Step, Structure};
use jacsense_problems::{laplacian_2d, random_pattern};

fn plan(structure: &Structure, settings: Settings) -> Result<Plan, Error> {
    Plan::new(structure, &vec![0.5; structure.dims().0], &settings)
}

#[test]
fn exact_outputs_get_the_cheaper_of_coloring_and_rainbow() {
    // 2D Laplacian: χ = 6 ≤ ρ_max + 2 = 7: coloring, read off.
    let lap = Structure::sparse(laplacian_2d(30));
    let p = plan(&lap, Settings::default()).unwrap();
    assert_eq!(p.settings().design.name(), "colored");
    assert_eq!(p.settings().decoder, DecoderChoice::LeastSquares);
    assert_eq!((p.calls(), p.lower_bound()), (p.coloring().unwrap().1.num_colors() + 1, 5));
    // Many rows over few columns: χ ≫ ρ_max, so ρ_max + 2 rainbow directions.
    let wide = Structure::sparse(random_pattern(20000, 2000, 2, 1));
    let p = plan(&wide, Settings::default()).unwrap();
    assert_eq!((p.settings().design.name(), p.calls(), p.lower_bound()), ("rainbow", 5, 2));
}

#[test]
fn outliers_get_redundant_rainbow_directions_and_l1() {
    let s = Structure::sparse(random_pattern(500, 500, 10, 2));
    for (fraction, k) in [(0.05, 37), (0.2, 62), (0.25, 82)] {
        let p = plan(&s, Settings { outliers: fraction, ..Settings::default() }).unwrap();
        assert_eq!(p.settings().design.name(), "rainbow");
        assert_eq!(p.settings().decoder, DecoderChoice::L1);
        assert_eq!(p.measurements(), k, "{fraction}");
        assert_eq!(p.calls(), k + 1);
    }
    let e = plan(&s, Settings { outliers: 0.4, ..Settings::default() }).unwrap_err();
    assert!(matches!(e, Error::InvalidSetting { name: "outliers", .. }), "{e}");
    const { assert!(MAX_OUTLIER_FRACTION < 0.4) };
}

#[test]
fn noise_gets_redundancy_error_bars_and_a_noise_step() {
    let s = Structure::sparse(random_pattern(300, 300, 6, 3));
    let p = plan(&s, Settings { noise: 1e-6, ..Settings::default() }).unwrap();
    assert_eq!((p.settings().design.name(), p.measurements()), ("rainbow", 14));
    assert_eq!(p.settings().step, Step::Noise(1e-6));
    assert!(p.steps()[0] > 1e-4, "step {:e} follows the noise, not √ε", p.steps()[0]);
    // A budget buys more averaging.
    let p = plan(&s, Settings { noise: 1e-6, budget: Some(41), ..Settings::default() }).unwrap();
    assert_eq!(p.calls(), 41);
}

#[test]
fn the_budget_is_never_exceeded() {
    let s = Structure::sparse(random_pattern(300, 300, 6, 4));
    // Coloring would need χ + 1 calls; the budget forces rainbow with fewer.
    let chi = plan(&s, Settings { design: Design::Colored { ordering: None }, ..Settings::default() }).unwrap().calls();
    let p = plan(&s, Settings { budget: Some(8), ..Settings::default() }).unwrap();
    assert!(chi > 8 && p.calls() <= 8, "χ + 1 = {chi}, planned {}", p.calls());
    let p = plan(&s, Settings { outliers: 0.1, budget: Some(20), ..Settings::default() }).unwrap();
    assert_eq!(p.calls(), 20);
    let e = plan(&s, Settings { budget: Some(5), ..Settings::default() }).unwrap_err();
    assert_eq!(e, Error::TooFewCalls { row: 0, unknowns: 6, calls: 4, needed: 6 });
    let e = plan(&s, Settings { design: Design::Coordinate, budget: Some(100), ..Settings::default() }).unwrap_err();
    assert_eq!(e, Error::OverBudget { calls: 301, budget: 100, design: "coordinate" });
}

/// Noise of level `sigma`, the same at the same point (a hash of `x`'s bits, uniform
/// with unit variance): noisy outputs for a test that must be reproducible.
fn noisy_linear(a: Vec<Vec<f64>>, sigma: f64) -> impl jacsense::Blackbox + Sync {
    let (m, n) = (a.len(), a[0].len());
    jacsense::from_fn(n, m, move |x: &[f64], y: &mut [f64]| {
        let mut h = x.iter().fold(0x9e37_79b9_7f4a_7c15u64, |h, v| (h ^ v.to_bits()).wrapping_mul(0x1000_0000_01b3));
        for (i, yi) in y.iter_mut().enumerate() {
            h = (h ^ (h >> 31)).wrapping_add(i as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            let u = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            *yi = a[i].iter().zip(x).map(|(aij, xj)| aij * xj).sum::<f64>() + sigma * 3f64.sqrt() * (2.0 * u - 1.0);
        }
    })
}

#[test]
fn noise_averages_down_as_one_over_root_k_along_random_forward_differences() {
    // Forward differences along random directions: the curvature term is even in d and
    // averages down with the noise, so the noise step must not shrink with the
    // measurements (it did: errors then fell as k^(-1/4)). 16 times the measurements:
    // errors 4 times smaller (√16), at least 3 (k^(-1/4) gave 2).
    use jacsense::{Difference, RandomDistribution};
    let n = 8;
    let a: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| ((i * n + j) as f64 * 0.37).sin()).collect()).collect();
    let f = noisy_linear(a.clone(), 1e-6);
    let structure = Structure::dense(n, n);
    let x0 = vec![0.5; n];
    let rms = |k: usize, difference: Difference| {
        let design = Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) };
        let settings = Settings { noise: 1e-6, design, difference, ..Settings::default() };
        let plan = Plan::new(&structure, &x0, &settings).unwrap();
        let est = plan.evaluate(&f).unwrap().decode();
        let j = est.jacobian();
        let sq: f64 =
            (0..n).flat_map(|i| (0..n).map(move |c| (i, c))).map(|(i, c)| (j.get(i, c) - a[i][c]).powi(2)).sum();
        ((sq / (n * n) as f64).sqrt(), plan.steps()[0])
    };
    let ((few, h_few), (many, h_many)) = (rms(40, Difference::Forward), rms(640, Difference::Forward));
    assert_eq!(h_few, h_many, "forward: one step whatever k");
    assert!(few / many > 3.0, "errors {few:.2e} → {many:.2e}: {:.2}× for 16× the measurements", few / many);
    // Central differences' cubic term is a bias that averaging keeps: there the step
    // shrinks with the redundancy.
    let ((_, h_few), (_, h_many)) = (rms(40, Difference::Central), rms(640, Difference::Central));
    assert!(h_many < h_few, "central: {h_few:e} → {h_many:e}");
}
