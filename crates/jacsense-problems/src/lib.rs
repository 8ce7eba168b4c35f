//! Test problems with analytic Jacobians, for jacsense's tests, benchmarks and demos
//! (a crate of its own, so that these fixtures are no part of the library's API).
//!
//! Each problem is a [`Blackbox`] with its sparsity pattern and exact Jacobian:
//! Broyden tridiagonal and extended Rosenbrock (Moré, Garbow & Hillstrom 1981, "Testing
//! unconstrained optimization software"), the 2D Bratu residual `Δu + λeᵘ` on a grid,
//! an arrowhead function, and linear maps `A x`. Pattern generators for stencils and
//! random patterns are here too.

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{RngExt, SeedableRng};

use jacsense::{Blackbox, CallError, Measurements, Pattern, Plan, SparseMatrix, Structure};

/// A blackbox whose Jacobian is known exactly.
pub trait Problem: Blackbox + Sync {
    /// A short name.
    fn name(&self) -> String;
    /// The sparsity pattern of `J` (m × n).
    fn pattern(&self) -> Pattern;
    /// The exact Jacobian at `x`.
    fn jacobian(&self, x: &[f64]) -> SparseMatrix;
    /// A point to linearize at.
    fn x0(&self) -> Vec<f64>;
}

fn sparse(pattern: Pattern, mut value: impl FnMut(usize, usize) -> f64) -> SparseMatrix {
    let values = pattern.entries().map(|(i, j)| value(i, j)).collect();
    SparseMatrix::new(pattern, values).expect("one value per entry")
}

/// Broyden tridiagonal: `f_i = (3 − 2x_i) x_i − x_{i−1} − 2 x_{i+1} + 1`.
///
/// ```
/// use jacsense_problems::{BroydenTridiagonal, Problem};
/// let p = BroydenTridiagonal { n: 5 };
/// assert_eq!(p.jacobian(&p.x0()).get(0, 1), -2.0);
/// ```
#[derive(Clone, Debug)]
pub struct BroydenTridiagonal {
    /// Inputs and outputs.
    pub n: usize,
}

impl Blackbox for BroydenTridiagonal {
    fn dims(&self) -> (usize, usize) {
        (self.n, self.n)
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        let n = self.n;
        for i in 0..n {
            let left = if i > 0 { x[i - 1] } else { 0.0 };
            let right = if i + 1 < n { x[i + 1] } else { 0.0 };
            y[i] = (3.0 - 2.0 * x[i]) * x[i] - left - 2.0 * right + 1.0;
        }
        Ok(())
    }
}

impl Problem for BroydenTridiagonal {
    fn name(&self) -> String {
        format!("broyden-tridiagonal n={}", self.n)
    }
    fn pattern(&self) -> Pattern {
        Pattern::banded(self.n, self.n, 1, 1)
    }
    fn jacobian(&self, x: &[f64]) -> SparseMatrix {
        sparse(self.pattern(), |i, j| match j as isize - i as isize {
            0 => 3.0 - 4.0 * x[i],
            -1 => -1.0,
            _ => -2.0,
        })
    }
    fn x0(&self) -> Vec<f64> {
        vec![-1.0; self.n]
    }
}

/// Extended Rosenbrock (`n` even): `f_{2i} = 10 (x_{2i+1} − x_{2i}²)`, `f_{2i+1} = 1 − x_{2i}`.
#[derive(Clone, Debug)]
pub struct ExtendedRosenbrock {
    /// Inputs and outputs (even).
    pub n: usize,
}

impl Blackbox for ExtendedRosenbrock {
    fn dims(&self) -> (usize, usize) {
        (self.n, self.n)
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        for i in (0..self.n).step_by(2) {
            y[i] = 10.0 * (x[i + 1] - x[i] * x[i]);
            y[i + 1] = 1.0 - x[i];
        }
        Ok(())
    }
}

impl Problem for ExtendedRosenbrock {
    fn name(&self) -> String {
        format!("extended-rosenbrock n={}", self.n)
    }
    fn pattern(&self) -> Pattern {
        let rows: Vec<Vec<usize>> =
            (0..self.n).map(|i| if i % 2 == 0 { vec![i, i + 1] } else { vec![i - 1] }).collect();
        Pattern::from_rows(self.n, &rows).expect("in range")
    }
    fn jacobian(&self, x: &[f64]) -> SparseMatrix {
        sparse(self.pattern(), |i, j| match (i % 2, j == i) {
            (0, true) => -20.0 * x[i],
            (0, false) => 10.0,
            _ => -1.0,
        })
    }
    fn x0(&self) -> Vec<f64> {
        (0..self.n).map(|i| if i % 2 == 0 { -1.2 } else { 1.0 }).collect()
    }
}

/// The 2D Bratu residual `F(u) = Δ_h u + λ eᵘ` on the interior of an `N × N` grid of
/// the unit square (zero boundary, 5-point Laplacian with spacing `h = 1/(N+1)`).
#[derive(Clone, Debug)]
pub struct Bratu2d {
    /// Interior points per side.
    pub grid: usize,
    /// The parameter λ.
    pub lambda: f64,
}

impl Bratu2d {
    fn inv_h2(&self) -> f64 {
        let h = 1.0 / (self.grid as f64 + 1.0);
        1.0 / (h * h)
    }
}

impl Blackbox for Bratu2d {
    fn dims(&self) -> (usize, usize) {
        (self.grid * self.grid, self.grid * self.grid)
    }
    fn call(&self, u: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        let g = self.grid;
        let s = self.inv_h2();
        for a in 0..g {
            for b in 0..g {
                let p = a * g + b;
                let at = |aa: usize, bb: usize| u[aa * g + bb];
                let mut lap = -4.0 * u[p];
                if a > 0 {
                    lap += at(a - 1, b);
                }
                if a + 1 < g {
                    lap += at(a + 1, b);
                }
                if b > 0 {
                    lap += at(a, b - 1);
                }
                if b + 1 < g {
                    lap += at(a, b + 1);
                }
                y[p] = s * lap + self.lambda * u[p].exp();
            }
        }
        Ok(())
    }
}

impl Problem for Bratu2d {
    fn name(&self) -> String {
        format!("bratu-2d {}x{}", self.grid, self.grid)
    }
    fn pattern(&self) -> Pattern {
        laplacian_2d(self.grid)
    }
    fn jacobian(&self, u: &[f64]) -> SparseMatrix {
        let s = self.inv_h2();
        sparse(self.pattern(), |i, j| if i == j { -4.0 * s + self.lambda * u[i].exp() } else { s })
    }
    fn x0(&self) -> Vec<f64> {
        let g = self.grid;
        (0..g * g)
            .map(|p| {
                let (a, b) = ((p / g) as f64 + 1.0, (p % g) as f64 + 1.0);
                let h = 1.0 / (g as f64 + 1.0);
                (a * h * (1.0 - a * h) * b * h * (1.0 - b * h)) * 4.0
            })
            .collect()
    }
}

/// An arrowhead function: `f_0 = ½ Σ x_j²` (a dense row), `f_i = x_0 x_i + sin x_i`
/// (a dense first column and the diagonal).
#[derive(Clone, Debug)]
pub struct Arrowhead {
    /// Inputs and outputs.
    pub n: usize,
}

impl Blackbox for Arrowhead {
    fn dims(&self) -> (usize, usize) {
        (self.n, self.n)
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        y[0] = 0.5 * x.iter().map(|v| v * v).sum::<f64>();
        for i in 1..self.n {
            y[i] = x[0] * x[i] + x[i].sin();
        }
        Ok(())
    }
}

impl Problem for Arrowhead {
    fn name(&self) -> String {
        format!("arrowhead n={}", self.n)
    }
    fn pattern(&self) -> Pattern {
        arrowhead(self.n)
    }
    fn jacobian(&self, x: &[f64]) -> SparseMatrix {
        sparse(self.pattern(), |i, j| match (i, j) {
            (0, j) => x[j],
            (i, 0) => x[i],
            (i, _) => x[0] + x[i].cos(),
        })
    }
    fn x0(&self) -> Vec<f64> {
        (0..self.n).map(|i| 0.5 + (i as f64 * 0.37).sin()).collect()
    }
}

/// A linear map `f(x) = A x` (its Jacobian is `A` everywhere).
#[derive(Clone, Debug)]
pub struct LinearMap {
    /// The matrix.
    pub a: SparseMatrix,
}

impl Blackbox for LinearMap {
    fn dims(&self) -> (usize, usize) {
        (self.a.pattern().ncols(), self.a.pattern().nrows())
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        self.a.mul_vec(x, y);
        Ok(())
    }
}

impl Problem for LinearMap {
    fn name(&self) -> String {
        format!("linear {}x{} nnz={}", self.a.pattern().nrows(), self.a.pattern().ncols(), self.a.pattern().nnz())
    }
    fn pattern(&self) -> Pattern {
        self.a.pattern().clone()
    }
    fn jacobian(&self, _x: &[f64]) -> SparseMatrix {
        self.a.clone()
    }
    fn x0(&self) -> Vec<f64> {
        (0..self.a.pattern().ncols()).map(|j| (j as f64 * 0.7).cos()).collect()
    }
}

/// The 5-point Laplacian pattern on an `N × N` grid (`N²` rows and columns).
///
/// ```
/// let p = jacsense_problems::laplacian_2d(3);
/// assert_eq!((p.nrows(), p.nnz(), p.max_row_count()), (9, 33, 5));
/// ```
pub fn laplacian_2d(grid: usize) -> Pattern {
    let g = grid;
    let rows: Vec<Vec<usize>> = (0..g * g)
        .map(|p| {
            let (a, b) = (p / g, p % g);
            let mut r = vec![p];
            if a > 0 {
                r.push(p - g);
            }
            if a + 1 < g {
                r.push(p + g);
            }
            if b > 0 {
                r.push(p - 1);
            }
            if b + 1 < g {
                r.push(p + 1);
            }
            r
        })
        .collect();
    Pattern::from_rows(g * g, &rows).expect("in range")
}

/// The 7-point Laplacian pattern on an `N × N × N` grid.
///
/// ```
/// let p = jacsense_problems::laplacian_3d(3);
/// assert_eq!((p.nrows(), p.max_row_count()), (27, 7));
/// ```
pub fn laplacian_3d(grid: usize) -> Pattern {
    let g = grid;
    let rows: Vec<Vec<usize>> = (0..g * g * g)
        .map(|p| {
            let (a, b, c) = (p / (g * g), (p / g) % g, p % g);
            let mut r = vec![p];
            for (coord, stride) in [(a, g * g), (b, g), (c, 1)] {
                if coord > 0 {
                    r.push(p - stride);
                }
                if coord + 1 < g {
                    r.push(p + stride);
                }
            }
            r
        })
        .collect();
    Pattern::from_rows(g * g * g, &rows).expect("in range")
}

/// The arrowhead pattern: dense first row and column plus the diagonal.
pub fn arrowhead(n: usize) -> Pattern {
    let rows: Vec<Vec<usize>> = (0..n).map(|i| if i == 0 { (0..n).collect() } else { vec![0, i] }).collect();
    Pattern::from_rows(n, &rows).expect("in range")
}

/// A random pattern with `per_row` distinct columns in every row, drawn uniformly.
///
/// ```
/// let p = jacsense_problems::random_pattern(20, 30, 4, 7);
/// assert!((0..20).all(|i| p.row_count(i) == 4));
/// ```
pub fn random_pattern(m: usize, n: usize, per_row: usize, seed: u64) -> Pattern {
    let mut rng = StdRng::seed_from_u64(seed);
    let rows: Vec<Vec<usize>> = (0..m).map(|_| sample(&mut rng, n, per_row.min(n)).into_vec()).collect();
    Pattern::from_rows(n, &rows).expect("in range")
}

/// A random sparse matrix on `pattern` with entries uniform in `[−1, −0.1] ∪ [0.1, 1]`.
pub fn random_matrix(pattern: Pattern, seed: u64) -> SparseMatrix {
    let mut rng = StdRng::seed_from_u64(seed);
    sparse(pattern, |_, _| {
        let v: f64 = rng.random_range(0.1..1.0);
        if rng.random::<bool>() { v } else { -v }
    })
}

/// A smooth nonlinear function on any pattern: `f_i(x) = Σ_j a_ij sin x_j + ½ s_i²`
/// with `s_i = Σ_j a_ij x_j`, so `J_ij = a_ij (cos x_j + s_i)` on the pattern of `A`.
///
/// ```
/// use jacsense_problems::{random_matrix, random_pattern, PatternFunction, Problem};
/// let f = PatternFunction { a: random_matrix(random_pattern(10, 8, 3, 1), 2) };
/// assert_eq!(f.jacobian(&f.x0()).pattern().nnz(), 30);
/// ```
#[derive(Clone, Debug)]
pub struct PatternFunction {
    /// The coefficients `a_ij`; their pattern is the pattern of `J`.
    pub a: SparseMatrix,
}

impl Blackbox for PatternFunction {
    fn dims(&self) -> (usize, usize) {
        (self.a.pattern().ncols(), self.a.pattern().nrows())
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        let p = self.a.pattern();
        for (i, yi) in y.iter_mut().enumerate() {
            let (mut sin_sum, mut s) = (0.0, 0.0);
            for (&j, &a) in p.row(i).iter().zip(self.a.row_values(i)) {
                sin_sum += a * x[j].sin();
                s += a * x[j];
            }
            *yi = sin_sum + 0.5 * s * s;
        }
        Ok(())
    }
}

impl Problem for PatternFunction {
    fn name(&self) -> String {
        format!("pattern-function {}x{}", self.a.pattern().nrows(), self.a.pattern().ncols())
    }
    fn pattern(&self) -> Pattern {
        self.a.pattern().clone()
    }
    fn jacobian(&self, x: &[f64]) -> SparseMatrix {
        let p = self.a.pattern();
        let mut values = Vec::with_capacity(p.nnz());
        for i in 0..p.nrows() {
            let s: f64 = p.row(i).iter().zip(self.a.row_values(i)).map(|(&j, &a)| a * x[j]).sum();
            values.extend(p.row(i).iter().zip(self.a.row_values(i)).map(|(&j, &a)| a * (x[j].cos() + s)));
        }
        SparseMatrix::new(p.clone(), values).expect("one value per entry")
    }
    fn x0(&self) -> Vec<f64> {
        (0..self.a.pattern().ncols()).map(|j| 0.3 * (j as f64 * 0.7).cos()).collect()
    }
}

/// Relative Frobenius error `‖est − truth‖_F / ‖truth‖_F`; entries outside a pattern
/// count as zero, and a NaN (undetermined) entry makes the error NaN.
///
/// ```
/// use jacsense_problems::relative_error;
/// use jacsense::SparseMatrix;
/// let truth = SparseMatrix::from_triplets(2, 2, &[(0, 0, 3.0), (1, 1, 4.0)])?;
/// let est = SparseMatrix::from_triplets(2, 2, &[(0, 0, 3.0), (0, 1, 1.0), (1, 1, 4.0)])?;
/// assert_eq!(relative_error(&est, &truth), 0.2);
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn relative_error(est: &SparseMatrix, truth: &SparseMatrix) -> f64 {
    let (m, n) = (truth.pattern().nrows(), truth.pattern().ncols());
    assert_eq!((est.pattern().nrows(), est.pattern().ncols()), (m, n), "matrix shapes differ");
    let mut diff = 0.0;
    let mut cols = Vec::new();
    for i in 0..m {
        cols.clear();
        cols.extend(est.pattern().row(i).iter().chain(truth.pattern().row(i)));
        cols.sort_unstable();
        cols.dedup();
        for &j in &cols {
            let d = est.get(i, j) - truth.get(i, j);
            diff += d * d;
        }
    }
    diff.sqrt() / truth.norm_frobenius()
}

/// A blackbox with Gaussian noise of standard deviation `sigma` added to every output.
///
/// The noise is a deterministic function of the point, the output index and `seed`
/// (a hash, not a stream), so the blackbox is `Sync`, calls can run in any order, and
/// the same point gives the same value — like a simulator with a fixed random seed.
///
/// ```
/// use jacsense_problems::{BroydenTridiagonal, Noisy};
/// use jacsense::Blackbox;
/// let f = Noisy { inner: BroydenTridiagonal { n: 3 }, sigma: 1e-3, seed: 1 };
/// let (mut a, mut b) = ([0.0; 3], [0.0; 3]);
/// f.call(&[0.5; 3], &mut a)?;
/// f.call(&[0.5; 3], &mut b)?;
/// assert_eq!(a, b);
/// # Ok::<(), jacsense::CallError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Noisy<P> {
    /// The exact function.
    pub inner: P,
    /// Standard deviation of the noise.
    pub sigma: f64,
    /// Seed of the noise.
    pub seed: u64,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<P: Blackbox> Blackbox for Noisy<P> {
    fn dims(&self) -> (usize, usize) {
        self.inner.dims()
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        self.inner.call(x, y)?;
        let h = x.iter().fold(splitmix(self.seed), |h, v| splitmix(h ^ v.to_bits()));
        for (i, yi) in y.iter_mut().enumerate() {
            // Box–Muller from two hashed uniforms in (0, 1].
            let a = splitmix(h ^ (2 * i as u64 + 1));
            let b = splitmix(a);
            let u1 = ((a >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
            let u2 = (b >> 11) as f64 / (1u64 << 53) as f64;
            *yi += self.sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        }
        Ok(())
    }
}

impl<P: Problem> Problem for Noisy<P> {
    fn name(&self) -> String {
        format!("{} + noise {:e}", self.inner.name(), self.sigma)
    }
    fn pattern(&self) -> Pattern {
        self.inner.pattern()
    }
    fn jacobian(&self, x: &[f64]) -> SparseMatrix {
        self.inner.jacobian(x)
    }
    fn x0(&self) -> Vec<f64> {
        self.inner.x0()
    }
}

/// How a [`Corrupted`] blackbox spoils a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// Every output replaced by ±10⁶ times the output scale.
    Huge,
    /// Every output replaced by a uniform random value of the output scale.
    Random,
    /// The outputs' signs flipped.
    SignFlip,
    /// The outputs of another call: the value at the anchor point (a stale repeat).
    Stale,
}

/// A blackbox whose calls fail (a `CallError`) on about `1/every` of the points, chosen
/// by a hash of the point (`every = 0`: never), except at `spare` (e.g. `x0`, so that a
/// test knows `f(x0)`).
#[derive(Clone, Debug)]
pub struct Crashing<P> {
    /// The exact function.
    pub inner: P,
    /// One call in about this many fails.
    pub every: u64,
    /// A point whose call never fails.
    pub spare: Option<Vec<f64>>,
}

impl<P: Blackbox> Blackbox for Crashing<P> {
    fn dims(&self) -> (usize, usize) {
        self.inner.dims()
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        let h = x.iter().fold(0, |h, v| splitmix(h ^ v.to_bits()));
        if self.every > 0 && h.is_multiple_of(self.every) && self.spare.as_deref() != Some(x) {
            return Err(CallError("simulated crash".into()));
        }
        self.inner.call(x, y)
    }
}

/// A tridiagonal band with five dense rows (201 nonzeros each, at rows `0, n/5, …`), so
/// that a coloring needs 201 colors: the pattern where one failed call leaves many rows
/// undetermined. `n` ≥ 201.
pub fn hub_pattern(n: usize) -> Pattern {
    let mut entries: Vec<(usize, usize)> = Pattern::banded(n, n, 1, 1).entries().collect();
    entries.retain(|(i, _)| i % (n / 5) != 0);
    for (i, j) in random_pattern(5, n, 201, 4).entries() {
        entries.push((i * (n / 5), j));
    }
    Pattern::from_triplets(n, n, &entries).expect("entries lie in n × n")
}

/// A blackbox whose calls are grossly wrong with probability `fraction`, in four kinds
/// in turn ([`Corruption`]). Which calls are spoiled is a deterministic function of
/// the point and `seed`, so the blackbox is `Sync` and [`Corrupted::corruption`] says
/// which calls of a plan were spoiled.
///
/// ```
/// use jacsense_problems::{BroydenTridiagonal, Corrupted};
/// use jacsense::Blackbox;
/// let f = Corrupted { inner: BroydenTridiagonal { n: 4 }, fraction: 1.0, seed: 3, anchor: vec![0.0; 4], scale: 1.0 };
/// assert!(f.corruption(&[0.5; 4]).is_some());
/// ```
#[derive(Clone, Debug)]
pub struct Corrupted<P> {
    /// The exact function.
    pub inner: P,
    /// Probability that a call is spoiled.
    pub fraction: f64,
    /// Seed of the choice.
    pub seed: u64,
    /// The point whose value stale calls return.
    pub anchor: Vec<f64>,
    /// Scale of the garbage values (e.g. the largest |f(x0)|).
    pub scale: f64,
}

impl<P> Corrupted<P> {
    fn hash(&self, x: &[f64]) -> u64 {
        x.iter().fold(splitmix(self.seed ^ 0x5eed), |h, v| splitmix(h ^ v.to_bits()))
    }

    /// Whether, and how, the call at `x` is spoiled.
    pub fn corruption(&self, x: &[f64]) -> Option<Corruption> {
        let h = self.hash(x);
        let u = (h >> 11) as f64 / (1u64 << 53) as f64;
        (u < self.fraction).then(|| match splitmix(h) % 4 {
            0 => Corruption::Huge,
            1 => Corruption::Random,
            2 => Corruption::SignFlip,
            _ => Corruption::Stale,
        })
    }
}

impl<P: Blackbox> Blackbox for Corrupted<P> {
    fn dims(&self) -> (usize, usize) {
        self.inner.dims()
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        let Some(kind) = self.corruption(x) else { return self.inner.call(x, y) };
        match kind {
            Corruption::SignFlip => self.inner.call(x, y)?,
            Corruption::Stale => self.inner.call(&self.anchor, y)?,
            Corruption::Huge | Corruption::Random => {}
        }
        kind.spoil(y, self.scale, self.hash(x));
        Ok(())
    }
}

impl Corruption {
    const ALL: [Corruption; 4] = [Corruption::Huge, Corruption::Random, Corruption::SignFlip, Corruption::Stale];

    /// Spoils `y`, which holds the exact value for `SignFlip` and the stale value for
    /// `Stale`; `hash` seeds the garbage.
    fn spoil(self, y: &mut [f64], scale: f64, hash: u64) {
        let uniform = |i: usize| (splitmix(hash ^ (i as u64 + 1)) >> 11) as f64 / (1u64 << 53) as f64;
        match self {
            Corruption::Huge => {
                for (i, v) in y.iter_mut().enumerate() {
                    *v = if uniform(i) < 0.5 { 1e6 } else { -1e6 } * scale;
                }
            }
            Corruption::Random => {
                for (i, v) in y.iter_mut().enumerate() {
                    *v = scale * (2.0 * uniform(i) - 1.0);
                }
            }
            Corruption::SignFlip => y.iter_mut().for_each(|v| *v = -*v),
            Corruption::Stale => {}
        }
    }
}

/// Spoils exactly `round(fraction · calls)` of the evaluated `values` (one output
/// vector per call, chosen at random from `seed`), cycling through the four kinds of
/// [`Corruption`]; a stale call takes the value of another call. Returns the spoiled
/// calls, ascending — the truth an outlier detector is judged against.
///
/// ```
/// let mut values = vec![vec![1.0, 2.0]; 10];
/// let bad = jacsense_problems::corrupt_calls(&mut values, 0.2, 7);
/// assert_eq!(bad.len(), 2);
/// ```
pub fn corrupt_calls(values: &mut [Vec<f64>], fraction: f64, seed: u64) -> Vec<usize> {
    let calls = values.len();
    let mut rng = StdRng::seed_from_u64(seed);
    let count = ((fraction * calls as f64).round() as usize).min(calls);
    let mut bad = sample(&mut rng, calls, count).into_vec();
    bad.sort_unstable();
    let scale = values.first().map_or(1.0, |v| v.iter().map(|x| x.abs()).fold(1.0, f64::max));
    for (n, &j) in bad.iter().enumerate() {
        let kind = Corruption::ALL[n % 4];
        if kind == Corruption::Stale && calls > 1 {
            let other = (j + 1 + rng.random_range(0..calls - 1)) % calls;
            values[j] = values[other].clone();
        }
        kind.spoil(&mut values[j], scale, rng.random());
    }
    bad
}

impl<P: Problem> Problem for Corrupted<P> {
    fn name(&self) -> String {
        format!("{} with {:.0}% of calls corrupted", self.inner.name(), 100.0 * self.fraction)
    }
    fn pattern(&self) -> Pattern {
        self.inner.pattern()
    }
    fn jacobian(&self, x: &[f64]) -> SparseMatrix {
        self.inner.jacobian(x)
    }
    fn x0(&self) -> Vec<f64> {
        self.inner.x0()
    }
}

/// The outputs of every call of `plan` on `f`, in call order (for experiments that
/// tamper with values before telling them to [`Measurements`]).
///
/// # Panics
/// When a call fails or `f` does not fit the plan.
pub fn evaluate_calls(plan: &Plan, f: &dyn Blackbox) -> Vec<Vec<f64>> {
    let (n, m) = f.dims();
    let mut x = vec![0.0; n];
    (0..plan.calls())
        .map(|j| {
            plan.point(j, &mut x).expect("the blackbox fits the plan");
            let mut y = vec![0.0; m];
            f.call(&x, &mut y).expect("the call succeeds");
            y
        })
        .collect()
}

/// Evaluates every call of `plan` on `f`, spoils `fraction` of them
/// ([`corrupt_calls`], chosen from `seed`), and tells the values: measurements with
/// known gross errors, and the calls spoiled.
///
/// # Panics
/// When a call fails or `f` does not fit the plan.
pub fn corrupted_measurements<'p>(
    plan: &'p Plan,
    f: &dyn Blackbox,
    fraction: f64,
    seed: u64,
) -> (Measurements<'p>, Vec<usize>) {
    let mut values = evaluate_calls(plan, f);
    let bad = corrupt_calls(&mut values, fraction, seed);
    let mut meas = Measurements::new(plan).expect("the measurements of a test problem fit in memory");
    for (j, y) in values.iter().enumerate() {
        meas.tell(j, y).expect("one value per output");
    }
    (meas, bad)
}

/// A 1D convolution of length `n` with `kernel` (odd width, centred) as a linear map,
/// and its structure with every diagonal tied: `kernel.len()` unknowns.
///
/// ```
/// let (f, structure) = jacsense_problems::tied_convolution(100, &[1.0, -2.0, 1.0]);
/// assert_eq!(structure.intrinsic_dimension(), 3);
/// assert_eq!(f.a.get(5, 4), 1.0);
/// ```
pub fn tied_convolution(n: usize, kernel: &[f64]) -> (LinearMap, Structure) {
    let half = kernel.len() / 2;
    let pattern = Pattern::banded(n, n, half, half);
    let ties = (0..kernel.len())
        .map(|o| (0..n).filter_map(|i| (i + o).checked_sub(half).filter(|&j| j < n).map(|j| (i, j, 1.0))).collect())
        .collect();
    let a = SparseMatrix::new(pattern.clone(), pattern.entries().map(|(i, j)| kernel[j + half - i]).collect())
        .expect("one value per entry");
    let structure = Structure::sparse(pattern)
        .with_coupling(jacsense::Coupling { ties, ..Default::default() })
        .expect("ties of a banded pattern are consistent");
    (LinearMap { a }, structure)
}

/// Precision and recall of the calls an estimate judged grossly wrong, against the
/// calls that were (`bad`, e.g. from [`corrupt_calls`]); 1 when there is nothing to
/// find or nothing was flagged.
///
/// ```
/// use jacsense_problems::outlier_scores;
/// assert_eq!(outlier_scores(&[1, 4, 7], &[4, 7]), (2.0 / 3.0, 1.0));
/// ```
pub fn outlier_scores(flagged: &[usize], bad: &[usize]) -> (f64, f64) {
    let hits = flagged.iter().filter(|c| bad.contains(c)).count() as f64;
    let precision = if flagged.is_empty() { 1.0 } else { hits / flagged.len() as f64 };
    let recall = if bad.is_empty() { 1.0 } else { hits / bad.len() as f64 };
    (precision, recall)
}

/// The gradient of a potential, `g(x) = ∇φ(x)` with `φ(x) = ½ xᵀ H x − Σ cos x_i`:
/// `g(x) = H x + sin x`, whose Jacobian is the symmetric Hessian `H + diag(cos x)`.
///
/// ```
/// use jacsense_problems::{random_symmetric_matrix, GradientField, Problem};
/// let g = GradientField { h: random_symmetric_matrix(jacsense_problems::arrowhead(10), 1) };
/// let h = g.jacobian(&g.x0());
/// assert_eq!(h.get(0, 7), h.get(7, 0));
/// ```
#[derive(Clone, Debug)]
pub struct GradientField {
    /// The symmetric `H` (its pattern must hold the diagonal).
    pub h: SparseMatrix,
}

impl Blackbox for GradientField {
    fn dims(&self) -> (usize, usize) {
        let n = self.h.pattern().nrows();
        (n, n)
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        self.h.mul_vec(x, y);
        y.iter_mut().zip(x).for_each(|(yi, xi)| *yi += xi.sin());
        Ok(())
    }
}

impl Problem for GradientField {
    fn name(&self) -> String {
        format!("gradient field n={}", self.h.pattern().nrows())
    }
    fn pattern(&self) -> Pattern {
        self.h.pattern().clone()
    }
    fn jacobian(&self, x: &[f64]) -> SparseMatrix {
        let mut j = self.h.clone();
        for (i, xi) in x.iter().enumerate() {
            let p = j.pattern().position(i, i).expect("the pattern holds the diagonal");
            j.values_mut()[p] += xi.cos();
        }
        j
    }
    fn x0(&self) -> Vec<f64> {
        (0..self.h.pattern().ncols()).map(|j| 0.4 * (j as f64 * 0.9).sin()).collect()
    }
}

/// A random symmetric matrix on `pattern` made symmetric and given its diagonal,
/// entries uniform in `[−1, −0.1] ∪ [0.1, 1]`.
pub fn random_symmetric_matrix(pattern: Pattern, seed: u64) -> SparseMatrix {
    let n = pattern.nrows();
    let mut entries: Vec<(usize, usize)> = pattern.entries().collect();
    entries.extend(pattern.entries().map(|(i, j)| (j, i)));
    entries.extend((0..n).map(|i| (i, i)));
    let full = Pattern::from_triplets(n, n, &entries).expect("square pattern");
    let upper = random_matrix(full.clone(), seed);
    sparse(full, |i, j| upper.get(i.min(j), i.max(j)))
}

/// The analytic left action `Jᵀ v` of a problem at `x`.
///
/// ```
/// use jacsense_problems::{left_action, BroydenTridiagonal, Problem};
/// let p = BroydenTridiagonal { n: 3 };
/// assert_eq!(left_action(&p, &p.x0(), &[1.0, 0.0, 0.0]), vec![7.0, -2.0, 0.0]);
/// ```
pub fn left_action<P: Problem + ?Sized>(p: &P, x: &[f64], v: &[f64]) -> Vec<f64> {
    let j = p.jacobian(x);
    let mut w = vec![0.0; j.pattern().ncols()];
    j.mul_transpose_vec(v, &mut w);
    w
}

/// Relative 2-norm error `‖w − truth‖ / ‖truth‖` of a vector.
///
/// ```
/// assert_eq!(jacsense_problems::vector_relative_error(&[3.0, 4.5], &[3.0, 4.0]), 0.1);
/// ```
pub fn vector_relative_error(w: &[f64], truth: &[f64]) -> f64 {
    let diff: f64 = w.iter().zip(truth).map(|(a, b)| (a - b).powi(2)).sum();
    let norm: f64 = truth.iter().map(|b| b * b).sum();
    (diff / norm).sqrt()
}

/// A scalar function of a few inputs among many: `f(x) = Σ_j c_j sin x_j + ½ s²` with
/// `s = Σ_j c_j x_j` over `terms = [(j, c_j)]`; its gradient is
/// `c_j (cos x_j + s)` on those inputs and zero elsewhere.
///
/// ```
/// use jacsense_problems::{Problem, SparseScalar};
/// let f = SparseScalar { n: 100, terms: vec![(3, 2.0), (70, -1.0)] };
/// let g = f.jacobian(&vec![0.0; 100]);
/// assert_eq!((g.get(0, 3), g.get(0, 70), g.pattern().nnz()), (2.0, -1.0, 2));
/// ```
#[derive(Clone, Debug)]
pub struct SparseScalar {
    /// Inputs.
    pub n: usize,
    /// The inputs `f` depends on, with their coefficients.
    pub terms: Vec<(usize, f64)>,
}

impl Blackbox for SparseScalar {
    fn dims(&self) -> (usize, usize) {
        (self.n, 1)
    }
    fn call(&self, x: &[f64], y: &mut [f64]) -> Result<(), CallError> {
        let s: f64 = self.terms.iter().map(|&(j, c)| c * x[j]).sum();
        y[0] = self.terms.iter().map(|&(j, c)| c * x[j].sin()).sum::<f64>() + 0.5 * s * s;
        Ok(())
    }
}

impl Problem for SparseScalar {
    fn name(&self) -> String {
        format!("sparse scalar n={} with {} inputs", self.n, self.terms.len())
    }
    fn pattern(&self) -> Pattern {
        let cols: Vec<usize> = self.terms.iter().map(|t| t.0).collect();
        Pattern::from_rows(self.n, &[cols]).expect("inputs in range")
    }
    fn jacobian(&self, x: &[f64]) -> SparseMatrix {
        let s: f64 = self.terms.iter().map(|&(j, c)| c * x[j]).sum();
        let entries: Vec<(usize, usize, f64)> = self.terms.iter().map(|&(j, c)| (0, j, c * (x[j].cos() + s))).collect();
        SparseMatrix::from_triplets(1, self.n, &entries).expect("inputs in range")
    }
    fn x0(&self) -> Vec<f64> {
        (0..self.n).map(|j| (j as f64 * 0.37).sin()).collect()
    }
}

/// The problems of the calls table (BENCHMARKS.md "Calls and accuracy per design"), by
/// name: the `calls` example's suite, which the `told_nothing` example runs too.
pub fn calls_suite() -> Vec<(String, Box<dyn Problem>)> {
    let on = |p: Pattern, seed| Box::new(PatternFunction { a: random_matrix(p, seed) }) as Box<dyn Problem>;
    vec![
        ("tridiagonal (Broyden) n=10000".into(), Box::new(BroydenTridiagonal { n: 10000 }) as Box<dyn Problem>),
        ("banded, bandwidth 5, n=5000".into(), on(Pattern::banded(5000, 5000, 5, 5), 1)),
        ("2D 5-point (Bratu) 100x100".into(), Box::new(Bratu2d { grid: 100, lambda: 6.0 })),
        ("3D 7-point 20x20x20".into(), on(laplacian_3d(20), 2)),
        ("random, 5 per row, 2000x2000".into(), on(random_pattern(2000, 2000, 5, 3), 3)),
        ("random, 2 per row, 2000x2000".into(), on(random_pattern(2000, 2000, 2, 4), 4)),
        ("random, 2 per row, 20000x2000".into(), on(random_pattern(20000, 2000, 2, 5), 5)),
        ("random, 2 per row, 60000x2000".into(), on(random_pattern(60000, 2000, 2, 7), 7)),
        ("arrowhead n=1000".into(), Box::new(Arrowhead { n: 1000 })),
        ("block-diagonal 200 blocks 8x8".into(), on(Pattern::block_diagonal(&[(8, 8); 200]), 6)),
    ]
}
