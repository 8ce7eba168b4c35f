//! Issue 13, point 5: LQR on an upright double pendulum, with `A`, `B` from dense
//! differences and from jacsense, on a clean simulator, one with noisy outputs
//! (σ = 1e-6 relative) and one where 5% of the steps return garbage.
//!
//! The plant the controllers run on is always the clean simulator; the noise and
//! garbage only hit the calls that linearize it. The discrete Riccati equation is
//! solved by iteration with faer. From 20 random initial perturbations (seeded), a run
//! succeeds when after 3 s every angle is within 1e-3 rad of upright and no angle ever
//! left it by more than π/2.
//!
//! `cargo run --release -p jacsense-rapier --example lqr [-- --quick]`

mod common;

use common::{forward_differences, quick, reference, rel_err};
use faer::Mat;
use faer::linalg::solvers::Solve;
use jacsense::{Blackbox, CallError, Design, Settings, Step, Structure};
use jacsense_rapier::{Dynamics, scenes};

/// The simulator with its outputs spoiled: Gaussian noise of relative size `noise`, or
/// a fraction `garbage` of the calls answering nonsense. The spoiling is a function of
/// the input (a hash of its bits), so calls may run in parallel and repeat exactly.
struct Spoiled<'a> {
    d: &'a Dynamics,
    noise: f64,
    garbage: f64,
}

fn hash(x: &[f64]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for v in x {
        h ^= v.to_bits();
        h = h.wrapping_mul(0x0100_0000_01b3);
        h ^= h >> 29;
    }
    h
}

fn uniform(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

fn gaussian(state: &mut u64) -> f64 {
    let (a, b) = (uniform(state), uniform(state));
    (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
}

impl Blackbox for Spoiled<'_> {
    fn dims(&self) -> (usize, usize) {
        self.d.dims()
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        self.d.call(x, y)?;
        let mut s = hash(x);
        if uniform(&mut s) < self.garbage {
            for v in y.iter_mut() {
                *v = 1e3 * gaussian(&mut s);
            }
            return Ok(());
        }
        for v in y.iter_mut() {
            *v += self.noise * v.abs().max(1.0) * gaussian(&mut s);
        }
        Ok(())
    }
}

/// Relative error of rows `rows` (all `n` columns).
fn rel_rows(j: &Mat<f64>, r: &Mat<f64>, rows: std::ops::Range<usize>, n: usize) -> f64 {
    let (mut e, mut s) = (0.0, 0.0);
    for i in rows {
        for c in 0..n {
            e += (j[(i, c)] - r[(i, c)]).powi(2);
            s += r[(i, c)].powi(2);
        }
    }
    (e / s).sqrt()
}

/// `K` of the discrete LQR, from the Riccati equation iterated to convergence.
fn lqr(a: &Mat<f64>, b: &Mat<f64>) -> Option<Mat<f64>> {
    let (nx, nu) = (a.nrows(), b.ncols());
    let q = Mat::<f64>::from_fn(nx, nx, |i, j| if i == j { if i < nx / 2 { 10.0 } else { 1.0 } } else { 0.0 });
    let r = Mat::<f64>::from_fn(nu, nu, |i, j| if i == j { 0.1 } else { 0.0 });
    let mut p = q.clone();
    for _ in 0..20_000 {
        let bt_p = b.transpose() * &p;
        let s = &r + &bt_p * b;
        let k = s.partial_piv_lu().solve(&bt_p * a);
        let next = &q + a.transpose() * &p * a - a.transpose() * &p * b * &k;
        let change = (&next - &p).norm_l2() / next.norm_l2().max(1.0);
        p = next;
        if !p.norm_l2().is_finite() {
            return None;
        }
        if change < 1e-12 {
            let bt_p = b.transpose() * &p;
            let s = &r + &bt_p * b;
            return Some(s.partial_piv_lu().solve(&bt_p * a));
        }
    }
    None
}

/// Closed-loop runs from 20 seeded perturbations on the clean simulator: successes.
fn trials(d: &Dynamics, k: &Mat<f64>, runs: usize, steps: usize) -> usize {
    let x_eq = d.x0();
    let (nx, nu) = (d.nx(), d.nu());
    let mut seed = 7u64;
    let mut ok = 0;
    for _ in 0..runs {
        let mut x = x_eq.clone();
        for i in 0..nx / 2 {
            x[i] += 0.3 * (2.0 * uniform(&mut seed) - 1.0);
            x[nx / 2 + i] += 0.5 * (2.0 * uniform(&mut seed) - 1.0);
        }
        let mut fell = false;
        for _ in 0..steps {
            let u: Vec<f64> = (0..nu).map(|j| -(0..nx).map(|c| k[(j, c)] * (x[c] - x_eq[c])).sum::<f64>()).collect();
            match d.step(&x, &u) {
                Ok(next) => x = next,
                Err(_) => {
                    fell = true;
                    break;
                }
            }
            if (0..nx / 2).any(|i| (x[i] - x_eq[i]).abs() > std::f64::consts::FRAC_PI_2) {
                fell = true;
                break;
            }
        }
        if !fell && (0..nx / 2).all(|i| (x[i] - x_eq[i]).abs() < 1e-3) {
            ok += 1;
        }
    }
    ok
}

/// A simulator (name, relative noise, fraction of garbage calls) and the
/// linearizations tried on it.
type Case = (&'static str, f64, f64, Vec<(&'static str, Structure, Settings)>);

fn main() {
    let mut d = scenes::double_pendulums(1).expect("pendulum");
    // Upright: both angles π (the lower rod continues the upper one), at rest.
    d.set_state(&[std::f64::consts::PI, 0.0, 0.0, 0.0]).expect("upright");
    let (nx, nu) = (d.nx(), d.nu());
    let n = nx + nu;
    let point = d.point();
    let r = reference(&d, &point);
    let structure = d.structure().expect("structure");
    let runs = 20;
    let steps = if quick() { 150 } else { 300 };
    let noise = 1e-6;
    println!(
        "upright double pendulum: nx = {nx}, nu = {nu}; {runs} initial perturbations (angles ±0.3 rad, rates ±0.5 rad/s), {steps} steps of {} s\n",
        d.dt()
    );
    println!(
        "| simulator | linearization | calls | rel. error [A B] | its position rows | its velocity rows | LQR successes |"
    );
    println!("|---|---|---|---|---|---|---|");
    let cases: Vec<Case> = vec![
        (
            "clean",
            0.0,
            0.0,
            vec![
                ("dense forward differences", Structure::dense(nx, n), forward_differences()),
                ("jacsense, derived structure", structure.clone(), jacsense_rapier::settings()),
            ],
        ),
        (
            "noisy outputs (σ = 1e-6 relative)",
            noise,
            0.0,
            vec![
                ("dense forward differences, default step", Structure::dense(nx, n), forward_differences()),
                (
                    "dense forward differences, step for the noise",
                    Structure::dense(nx, n),
                    Settings { step: Step::Noise(noise), noise, ..forward_differences() },
                ),
                (
                    "jacsense, derived structure, told the noise",
                    structure.clone(),
                    Settings { noise, step: Step::Noise(noise), ..jacsense_rapier::settings() },
                ),
                (
                    "jacsense, derived structure, told the noise (planner's design)",
                    structure.clone(),
                    Settings { noise, ..Settings::default() },
                ),
            ],
        ),
        (
            "5% of steps garbage",
            0.0,
            0.05,
            vec![
                ("dense forward differences", Structure::dense(nx, n), forward_differences()),
                ("jacsense, derived structure", structure.clone(), jacsense_rapier::settings()),
                (
                    "jacsense, derived structure, told 5% outliers",
                    structure.clone(),
                    Settings { outliers: 0.05, design: Design::Auto, ..Settings::default() },
                ),
            ],
        ),
    ];
    for (sim, noise, garbage, methods) in cases {
        let f = Spoiled { d: &d, noise, garbage };
        for (name, s, settings) in methods {
            let est = jacsense::jacobian_with(&f, &point, &s, &settings).expect("estimate");
            let j = est.dense();
            let err = rel_err(&j, &r, 0..n);
            let (a, b) = jacsense_rapier::split(&j, nx);
            let successes = match lqr(&a, &b) {
                Some(k) if k.norm_l2().is_finite() => format!("{}/{runs}", trials(&d, &k, runs, steps)),
                _ => "no LQR (Riccati iteration diverged)".into(),
            };
            let q = rel_rows(&j, &r, 0..nx / 2, n);
            let v = rel_rows(&j, &r, nx / 2..nx, n);
            println!("| {sim} | {name} | {} | {err:.1e} | {q:.1e} | {v:.1e} | {successes} |", est.diagnostics().calls);
        }
    }
    // The exact-enough linearization as a yardstick.
    let (a, b) = jacsense_rapier::split(&r, nx);
    let k = lqr(&a, &b).expect("lqr on the reference");
    println!(
        "| — | reference (central differences, step 1e-6) | {} | 0 | 0 | 0 | {}/{runs} |",
        2 * n,
        trials(&d, &k, runs, steps)
    );
}
