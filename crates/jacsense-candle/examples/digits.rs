//! Training an MLP with a blackbox layer on the UCI handwritten digits (8×8), by exact
//! backprop, coordinate differences, an ES/SPSA-style random-direction estimator and
//! jacsense: the table of BENCHMARKS.md ("Blackbox layers in a neural net").
//!
//! ```sh
//! cargo run --release -p jacsense-candle --example digits            # the full table
//! cargo run --release -p jacsense-candle --example digits -- --quick # CI: fewer epochs
//! ```
//!
//! The net: 64 pixels → linear (128) → blackbox layer (128 → 128) → linear (64) → tanh
//! → linear (10), cross-entropy, Adam, batches of 32, fixed seed, 1437 training and 360
//! test images. The blackbox layers (each one's inputs are the first linear layer's
//! outputs `z`):
//!
//! - (a) noisy elementwise: `y_i = tanh(z_i)` plus noise of σ = 1e-4 relative to
//!   `max(1, |y_i|)` on every call;
//! - (b) local mixing: `y_i = tanh(Σ_{|k|≤2} a_k z_{i+k})`, 5 neighbouring inputs;
//! - (c) sparse at unknown places: `y_i = tanh(z_{π(i)})` for a permutation `π` the
//!   trainer is not told (declared: one nonzero per row, places unknown);
//! - (d) layer (b) returning garbage (values of size 10³) on 5% of the calls made for
//!   derivatives; the forward evaluation is clean (the paper's corrupted
//!   measurements);
//! - (e) `y_i = θ₀ tanh(θ₁ z_i + θ₂) + θ₃ z_i` with 4 trainable parameters of its own.
//!
//! Trainers: exact backprop through the same layer written in candle ops (the
//! reference); no gradient below the layer (the first linear layer stays at its
//! initial weights: what the layer's gradient is worth); coordinate differences
//! (jacsense's coordinate design on a dense structure: `n + p` calls per sample, `f(x0)`
//! from the forward pass, on (a) the step chosen for the noise, `√σ`); ES
//! (`w ≈ (1/k) Σ_t vᵀ(g(x + h u_t) − g(x))/h · u_t` over `k` Gaussian directions, `k` the
//! calls per sample jacsense makes on the same layer, `h = √σ` on (a), 1e-6 elsewhere);
//! jacsense (the structure declared, `noise = 1e-4` on (a), `outliers = 0.05` on (d));
//! on (c) also jacsense told nothing (`Known::Nothing`: a told-nothing adaptive session
//! per sample, its calls per sample whatever the sessions needed).
//! A backward pass whose `vᵀJ` is undetermined for some sample is not applied and
//! counted.
//!
//! It starts with a gradient check: jacsense's `vᵀJ` of layer (b), noise-free, against candle's
//! autodiff on 100 random samples.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, D, DType, Device, Layout, Shape, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use jacsense::{CallError, Design, Route, Settings, Step, VjpSettings};
use jacsense_candle::{BatchBlackbox, BlackboxLayer, Known, LayerDims, StepReport};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const HIDDEN: usize = 128;
const HIDDEN2: usize = 64;
const BATCH: usize = 32;
const SEED: u64 = 2017;
const KERNEL: [f64; 5] = [0.3, -0.6, 1.0, 0.6, -0.3];
const NOISE: f64 = 1e-4;
const GARBAGE: f64 = 0.05;

// ---------------------------------------------------------------------------------
// Randomness: splitmix64, seeded, the same bits on every machine.

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn uniform(state: &mut u64) -> f64 {
    (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64
}

fn gaussian(state: &mut u64) -> f64 {
    let u = uniform(state).max(1e-300);
    let v = uniform(state);
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn shuffle<T>(items: &mut [T], state: &mut u64) {
    for i in (1..items.len()).rev() {
        let j = (splitmix(state) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// A hash of a point's bits: the noise and garbage of a call depend on its point only,
/// so they do not depend on the order in which a batch is evaluated.
fn point_hash(point: &[f64], salt: u64) -> u64 {
    let mut h = salt ^ 0x51_7C_C1_B7_27_22_0A_95;
    for x in point {
        h = splitmix(&mut (h ^ x.to_bits()));
    }
    h
}

// ---------------------------------------------------------------------------------
// Data: UCI optical digits (scikit-learn's copy), 1797 images, 80/20 split.

struct Data {
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    train_len: usize,
}

fn load_digits(device: &Device) -> Result<Data> {
    use std::io::Read;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut text)?;
    let mut rows: Vec<(Vec<f64>, u32)> = Vec::new();
    for (line_no, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let values: Vec<f64> =
            line.split(',').map(|t| t.trim().parse::<f64>()).collect::<std::result::Result<_, _>>()?;
        if values.len() != 65 {
            return Err(format!("{path}: line {} has {} values, not 65", line_no + 1, values.len()).into());
        }
        rows.push((values[..64].iter().map(|v| v / 16.0).collect(), values[64] as u32));
    }
    let mut state = SEED;
    shuffle(&mut rows, &mut state);
    let train_len = rows.len() * 4 / 5;
    let to_tensors = |rows: &[(Vec<f64>, u32)]| -> Result<(Tensor, Tensor)> {
        let x: Vec<f64> = rows.iter().flat_map(|(x, _)| x.iter().copied()).collect();
        let y: Vec<u32> = rows.iter().map(|(_, y)| *y).collect();
        Ok((Tensor::from_vec(x, (rows.len(), 64), device)?, Tensor::from_vec(y, rows.len(), device)?))
    };
    let (train_x, train_y) = to_tensors(&rows[..train_len])?;
    let (test_x, test_y) = to_tensors(&rows[train_len..])?;
    Ok(Data { train_x, train_y, test_x, test_y, train_len })
}

// ---------------------------------------------------------------------------------
// The blackbox layers, as functions of one point (z, θ).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Noisy,
    Local,
    Sparse,
    Garbage,
    Parametric,
}

impl Kind {
    const ALL: [Kind; 5] = [Kind::Noisy, Kind::Local, Kind::Sparse, Kind::Garbage, Kind::Parametric];

    fn label(self) -> &'static str {
        match self {
            Kind::Noisy => "(a) noisy elementwise",
            Kind::Local => "(b) local mixing",
            Kind::Sparse => "(c) sparse, unknown places",
            Kind::Garbage => "(d) local, 5% garbage",
            Kind::Parametric => "(e) 4 parameters inside",
        }
    }

    fn parameters(self) -> usize {
        if self == Kind::Parametric { 4 } else { 0 }
    }

    /// What jacsense is told.
    fn known(self) -> Known {
        match self {
            Kind::Noisy | Kind::Parametric => Known::Elementwise,
            Kind::Local | Kind::Garbage => Known::Banded { lower: 2, upper: 2 },
            Kind::Sparse => Known::RowSparse { nonzeros: 1 },
        }
    }

    fn settings(self) -> Settings {
        match self {
            Kind::Noisy => Settings { noise: NOISE, ..Settings::default() },
            Kind::Garbage => Settings { outliers: GARBAGE, ..Settings::default() },
            _ => Settings::default(),
        }
    }
}

/// The hidden permutation of layer (c).
fn permutation() -> Vec<usize> {
    let mut p: Vec<usize> = (0..HIDDEN).collect();
    let mut state = SEED ^ 0xC0FFEE;
    shuffle(&mut p, &mut state);
    p
}

/// One of the layers as a batch blackbox (module docs).
struct Layer {
    kind: Kind,
    permutation: Vec<usize>,
    /// Whether layer (d) spoils calls made for derivatives (the forward is clean).
    garbage: bool,
    /// Whether layer (a) adds its noise.
    noise: bool,
    /// Calls spoiled so far.
    spoiled: AtomicUsize,
}

impl Layer {
    fn new(kind: Kind) -> Layer {
        Layer {
            kind,
            permutation: permutation(),
            garbage: kind == Kind::Garbage,
            noise: kind == Kind::Noisy,
            spoiled: AtomicUsize::new(0),
        }
    }

    fn clean(kind: Kind) -> Layer {
        Layer { garbage: false, noise: false, ..Layer::new(kind) }
    }

    fn eval(&self, point: &[f64], y: &mut [f64]) {
        let n = HIDDEN;
        let z = &point[..n];
        match self.kind {
            Kind::Noisy => {
                for i in 0..n {
                    y[i] = z[i].tanh();
                }
                if self.noise {
                    let mut state = point_hash(point, 1);
                    for yi in y.iter_mut() {
                        *yi += NOISE * yi.abs().max(1.0) * gaussian(&mut state);
                    }
                }
            }
            Kind::Local | Kind::Garbage => {
                for (i, yi) in y.iter_mut().enumerate() {
                    let s: f64 = (0..5)
                        .filter_map(|k| (i + k).checked_sub(2).filter(|&j| j < n).map(|j| KERNEL[k] * z[j]))
                        .sum();
                    *yi = s.tanh();
                }
            }
            Kind::Sparse => {
                for (i, yi) in y.iter_mut().enumerate() {
                    *yi = z[self.permutation[i]].tanh();
                }
            }
            Kind::Parametric => {
                let t = &point[n..n + 4];
                for (i, yi) in y.iter_mut().enumerate() {
                    *yi = t[0] * (t[1] * z[i] + t[2]).tanh() + t[3] * z[i];
                }
            }
        }
    }
}

impl BatchBlackbox for Layer {
    fn dims(&self) -> LayerDims {
        LayerDims { inputs: HIDDEN, parameters: self.kind.parameters(), outputs: HIDDEN }
    }

    fn call_batch(&self, points: &[f64], values: &mut [f64]) -> Vec<std::result::Result<(), CallError>> {
        let len = self.dims().point_len();
        points
            .chunks(len)
            .zip(values.chunks_mut(HIDDEN))
            .map(|(point, y)| {
                self.eval(point, y);
                if self.garbage {
                    let mut state = point_hash(point, 2);
                    if uniform(&mut state) < GARBAGE {
                        self.spoiled.fetch_add(1, Ordering::Relaxed);
                        y.iter_mut().for_each(|v| *v = 1e3 * gaussian(&mut state));
                    }
                }
                Ok(())
            })
            .collect()
    }

    fn forward_batch(&self, points: &[f64], values: &mut [f64]) -> Vec<std::result::Result<(), CallError>> {
        let len = self.dims().point_len();
        points.chunks(len).zip(values.chunks_mut(HIDDEN)).for_each(|(point, y)| self.eval(point, y));
        vec![Ok(()); points.len() / len]
    }
}

/// The same layers in candle ops, for exact backprop.
fn exact_layer(kind: Kind, z: &Tensor, theta: Option<&Var>) -> candle_core::Result<Tensor> {
    let device = z.device();
    match kind {
        Kind::Noisy => z.tanh(),
        Kind::Local | Kind::Garbage => {
            // y = tanh(z Aᵀ) with A the band of the kernel.
            let mut a = vec![0.0; HIDDEN * HIDDEN];
            for i in 0..HIDDEN {
                for (k, &weight) in KERNEL.iter().enumerate() {
                    if let Some(j) = (i + k).checked_sub(2).filter(|&j| j < HIDDEN) {
                        a[j * HIDDEN + i] = weight; // row j of Aᵀ
                    }
                }
            }
            z.matmul(&Tensor::from_vec(a, (HIDDEN, HIDDEN), device)?)?.tanh()
        }
        Kind::Sparse => {
            let mut p = vec![0.0; HIDDEN * HIDDEN];
            for (i, &j) in permutation().iter().enumerate() {
                p[j * HIDDEN + i] = 1.0;
            }
            z.matmul(&Tensor::from_vec(p, (HIDDEN, HIDDEN), device)?)?.tanh()
        }
        Kind::Parametric => {
            let t = theta.expect("layer (e) has parameters").as_tensor();
            let t0 = t.narrow(0, 0, 1)?;
            let t1 = t.narrow(0, 1, 1)?;
            let t2 = t.narrow(0, 2, 1)?;
            let t3 = t.narrow(0, 3, 1)?;
            let inner = z.broadcast_mul(&t1)?.broadcast_add(&t2)?.tanh()?;
            inner.broadcast_mul(&t0)?.add(&z.broadcast_mul(&t3)?)
        }
    }
}

const THETA0: [f64; 4] = [1.0, 1.0, 0.0, 0.1];

// ---------------------------------------------------------------------------------
// The ES/SPSA-style baseline: k Gaussian directions per sample, the same calls.

struct EsCore {
    blackbox: Arc<Layer>,
    directions: usize,
    step: f64,
    counter: AtomicU64,
    calls: AtomicU64,
}

#[derive(Clone)]
struct EsLayer {
    core: Arc<EsCore>,
}

impl EsCore {
    fn forward(&self, x: &[f64], theta: &[f64], batch: usize) -> candle_core::Result<(CpuStorage, Shape)> {
        let points: Vec<f64> =
            (0..batch).flat_map(|b| x[b * HIDDEN..(b + 1) * HIDDEN].iter().chain(theta).copied()).collect();
        let mut y = vec![0.0; batch * HIDDEN];
        self.blackbox.forward_batch(&points, &mut y);
        Ok((CpuStorage::F64(y), Shape::from((batch, HIDDEN))))
    }

    /// `w_b ≈ (1/k) Σ_t v_bᵀ(g(p_b + h u_t) − g(p_b))/h · u_t`.
    fn backward(
        &self,
        x: &Tensor,
        theta: Option<&Tensor>,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Tensor, Option<Tensor>)> {
        let (batch, n) = x.dims2()?;
        let xs = x.flatten_all()?.to_vec1::<f64>()?;
        let theta_values = match theta {
            Some(t) => t.to_vec1::<f64>()?,
            None => Vec::new(),
        };
        let f0 = res.flatten_all()?.to_vec1::<f64>()?;
        let v = grad.flatten_all()?.to_vec1::<f64>()?;
        let len = n + theta_values.len();
        let k = self.directions;
        let mut state = SEED ^ self.counter.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37);
        let mut directions = vec![0.0; batch * k * len];
        directions.iter_mut().for_each(|d| *d = gaussian(&mut state));
        let mut points = vec![0.0; batch * k * len];
        for b in 0..batch {
            for t in 0..k {
                let at = (b * k + t) * len;
                for c in 0..len {
                    let p0 = if c < n { xs[b * n + c] } else { theta_values[c - n] };
                    points[at + c] = p0 + self.step * directions[at + c];
                }
            }
        }
        let mut values = vec![0.0; batch * k * HIDDEN];
        let results = self.blackbox.call_batch(&points, &mut values);
        self.calls.fetch_add((batch * k) as u64, Ordering::Relaxed);
        let mut gx = vec![0.0; batch * n];
        let mut gtheta = vec![0.0; theta_values.len()];
        for b in 0..batch {
            let vb = &v[b * HIDDEN..(b + 1) * HIDDEN];
            for t in 0..k {
                let call = b * k + t;
                if results[call].is_err() {
                    continue;
                }
                let y = &values[call * HIDDEN..(call + 1) * HIDDEN];
                let s: f64 =
                    (0..HIDDEN).map(|i| vb[i] * (y[i] - f0[b * HIDDEN + i])).sum::<f64>() / self.step / k as f64;
                let u = &directions[call * len..(call + 1) * len];
                for c in 0..n {
                    gx[b * n + c] += s * u[c];
                }
                for (q, g) in gtheta.iter_mut().enumerate() {
                    *g += s * u[n + q];
                }
            }
        }
        let gx = Tensor::from_vec(gx, (batch, n), x.device())?;
        let gtheta = match theta {
            Some(t) => Some(Tensor::from_vec(gtheta, t.shape(), t.device())?),
            None => None,
        };
        Ok((gx, gtheta))
    }
}

fn f64_slice<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f64]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F64(data), Some((a, b))) => Ok(&data[a..b]),
        _ => Err(candle_core::Error::msg("ES layer: contiguous f64 tensors only")),
    }
}

impl CustomOp1 for EsLayer {
    fn name(&self) -> &'static str {
        "es-layer"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        self.core.forward(f64_slice(s, l)?, &[], l.dims()[0])
    }
    fn bwd(&self, arg: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.core.backward(arg, None, res, grad)?.0))
    }
}

impl CustomOp2 for EsLayer {
    fn name(&self) -> &'static str {
        "es-layer"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.core.forward(f64_slice(s1, l1)?, f64_slice(s2, l2)?, l1.dims()[0])
    }
    fn bwd(
        &self,
        a1: &Tensor,
        a2: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (gx, gt) = self.core.backward(a1, Some(a2), res, grad)?;
        Ok((Some(gx), gt))
    }
}

// ---------------------------------------------------------------------------------
// The net and its training.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trainer {
    Exact,
    /// The layers below the blackbox are not trained (what a blackbox without any
    /// derivative leaves): the reference for what its gradient is worth.
    Frozen,
    Coordinate,
    Es,
    Jacsense,
    /// jacsense told nothing ([`Known::Nothing`]: a told-nothing session per sample),
    /// on layer (c) only.
    ToldNothing,
}

impl Trainer {
    const ALL: [Trainer; 6] =
        [Trainer::Exact, Trainer::Frozen, Trainer::Coordinate, Trainer::Es, Trainer::Jacsense, Trainer::ToldNothing];

    /// Whether the trainer runs on `kind`: told nothing is the row of layer (c), whose
    /// places nobody knows.
    fn trains(self, kind: Kind) -> bool {
        self != Trainer::ToldNothing || kind == Kind::Sparse
    }

    fn label(self) -> &'static str {
        match self {
            Trainer::Exact => "exact backprop",
            Trainer::Frozen => "no gradient below the layer",
            Trainer::Coordinate => "coordinate differences",
            Trainer::Es => "ES (random directions)",
            Trainer::Jacsense => "jacsense",
            Trainer::ToldNothing => "jacsense, told nothing",
        }
    }
}

enum Middle {
    Exact(Kind, Option<Var>),
    Frozen(Kind, Option<Var>),
    Blackbox(BlackboxLayer),
    Es(EsLayer, Option<Var>),
}

impl Middle {
    fn forward(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Middle::Exact(kind, theta) => exact_layer(*kind, z, theta.as_ref()),
            Middle::Frozen(kind, theta) => exact_layer(*kind, &z.detach(), theta.as_ref()),
            Middle::Blackbox(layer) => layer.forward(z),
            Middle::Es(layer, theta) => {
                let z = z.contiguous()?;
                match theta {
                    None => z.apply_op1(layer.clone()),
                    Some(t) => z.apply_op2(t.as_tensor(), layer.clone()),
                }
            }
        }
    }

    fn parameters(&self) -> Option<Var> {
        match self {
            Middle::Exact(_, theta) | Middle::Frozen(_, theta) | Middle::Es(_, theta) => theta.clone(),
            Middle::Blackbox(layer) => layer.parameters().cloned(),
        }
    }
}

struct Net {
    linear: Vec<(Var, Var)>,
    middle: Middle,
}

fn linear_init(inputs: usize, outputs: usize, state: &mut u64, device: &Device) -> Result<(Var, Var)> {
    let bound = 1.0 / (inputs as f64).sqrt();
    let w: Vec<f64> = (0..inputs * outputs).map(|_| bound * (2.0 * uniform(state) - 1.0)).collect();
    let b: Vec<f64> = (0..outputs).map(|_| bound * (2.0 * uniform(state) - 1.0)).collect();
    Ok((Var::from_vec(w, (inputs, outputs), device)?, Var::from_vec(b, outputs, device)?))
}

impl Net {
    fn new(middle: Middle, device: &Device) -> Result<Net> {
        let mut state = SEED;
        let linear = vec![
            linear_init(64, HIDDEN, &mut state, device)?,
            linear_init(HIDDEN, HIDDEN2, &mut state, device)?,
            linear_init(HIDDEN2, 10, &mut state, device)?,
        ];
        Ok(Net { linear, middle })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let apply = |x: &Tensor, (w, b): &(Var, Var)| x.matmul(w.as_tensor())?.broadcast_add(b.as_tensor());
        let z = apply(x, &self.linear[0])?;
        let y = self.middle.forward(&z)?;
        let h = apply(&y, &self.linear[1])?.tanh()?;
        apply(&h, &self.linear[2])
    }

    fn vars(&self) -> Vec<Var> {
        let mut vars: Vec<Var> = self.linear.iter().flat_map(|(w, b)| [w.clone(), b.clone()]).collect();
        vars.extend(self.middle.parameters());
        vars
    }

    fn accuracy(&self, x: &Tensor, y: &Tensor) -> Result<f64> {
        let predicted = self.forward(x)?.argmax(D::Minus1)?;
        let correct = predicted.eq(y)?.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
        Ok(correct / y.dims1()? as f64)
    }
}

/// One row of the table.
struct Outcome {
    kind: Kind,
    trainer: Trainer,
    accuracy: f64,
    calls_per_sample: f64,
    seconds: f64,
    cpu: Option<f64>,
    refused: usize,
    steps: usize,
    spoiled: usize,
    erasures: usize,
    outliers: usize,
    worst: String,
}

/// `layer` as a blackbox layer told `known`, sensed with `settings`.
fn blackbox_layer(layer: &Arc<Layer>, known: &Known, settings: &VjpSettings) -> Result<BlackboxLayer> {
    let (kind, layer) = (layer.kind, layer.clone());
    Ok(if kind.parameters() > 0 {
        BlackboxLayer::with_parameters(layer, known, settings, &THETA0)?
    } else {
        BlackboxLayer::new(layer, known, settings)?
    })
}

fn jacsense_settings(kind: Kind) -> VjpSettings {
    VjpSettings { jacobian: kind.settings(), ..VjpSettings::default() }
}

/// CPU time of this process so far (every thread), in seconds, from `/proc/self/stat`
/// (Linux; `None` elsewhere): wall time on a shared machine counts the others' work.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces), from field 3 on.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ, 100 on Linux
}

fn train(kind: Kind, trainer: Trainer, data: &Data, epochs: usize, device: &Device) -> Result<Outcome> {
    let theta = || -> Result<Option<Var>> {
        Ok(if kind.parameters() > 0 { Some(Var::from_vec(THETA0.to_vec(), 4, device)?) } else { None })
    };
    let blackbox = Arc::new(Layer::new(kind));
    let middle = match trainer {
        Trainer::Exact => Middle::Exact(kind, theta()?),
        Trainer::Frozen => Middle::Frozen(kind, theta()?),
        Trainer::Jacsense => Middle::Blackbox(blackbox_layer(&blackbox, &kind.known(), &jacsense_settings(kind))?),
        Trainer::ToldNothing => Middle::Blackbox(blackbox_layer(&blackbox, &Known::Nothing, &jacsense_settings(kind))?),
        Trainer::Coordinate => {
            // What everyone does: one call per input, nothing known, entries read off;
            // on (a) with the step chosen for the noise (√σ, as jacsense's), and not told
            // the garbage, which a read-off design cannot use.
            let step = if kind == Kind::Noisy { Step::Noise(NOISE) } else { Step::Default };
            let jacobian = Settings { design: Design::Coordinate, step, ..Settings::default() };
            let settings = VjpSettings { route: Route::SenseJacobian, jacobian, ..VjpSettings::default() };
            Middle::Blackbox(blackbox_layer(&blackbox, &Known::Dense, &settings)?)
        }
        Trainer::Es => {
            let step = if kind == Kind::Noisy { NOISE.sqrt() } else { 1e-6 };
            let core = EsCore {
                blackbox: blackbox.clone(),
                directions: blackbox_layer(&blackbox, &kind.known(), &jacsense_settings(kind))?.calls_per_sample(),
                step,
                counter: AtomicU64::new(0),
                calls: AtomicU64::new(0),
            };
            Middle::Es(EsLayer { core: Arc::new(core) }, theta()?)
        }
    };
    let net = Net::new(middle, device)?;
    let mut optimizer = AdamW::new(net.vars(), ParamsAdamW { lr: 3e-3, weight_decay: 0.0, ..ParamsAdamW::default() })?;
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    let mut state = SEED ^ 0xDA7A;
    let mut order: Vec<u32> = (0..data.train_len as u32).collect();
    let (mut steps, mut refused, mut calls, mut samples, mut erasures, mut outliers) = (0, 0, 0usize, 0usize, 0, 0);
    let mut worst: Option<StepReport> = None;
    for _ in 0..epochs {
        shuffle(&mut order, &mut state);
        for chunk in order.chunks(BATCH) {
            let index = Tensor::from_slice(chunk, chunk.len(), device)?;
            let x = data.train_x.index_select(&index, 0)?;
            let y = data.train_y.index_select(&index, 0)?;
            let loss = candle_nn::loss::cross_entropy(&net.forward(&x)?, &y)?;
            steps += 1;
            let backward = loss.backward();
            if let Middle::Blackbox(layer) = &net.middle {
                let report = layer.last_step().ok_or("the backward pass made no report")?;
                calls += report.calls;
                samples += report.samples;
                erasures += report.erasures;
                outliers += report.outliers;
                if worst.as_ref().is_none_or(|w| rank(&report) > rank(w)) {
                    worst = Some(report);
                }
            }
            match backward {
                Ok(grads) => optimizer.step(&grads)?,
                Err(e) => {
                    refused += 1;
                    if refused <= 3 {
                        eprintln!("{} / {}: step {steps} not applied: {e}", kind.label(), trainer.label());
                    }
                }
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu_start).map(|(end, start)| end - start);
    let calls_per_sample = match &net.middle {
        Middle::Exact(..) | Middle::Frozen(..) => 0.0,
        Middle::Blackbox(_) => calls as f64 / samples.max(1) as f64,
        Middle::Es(layer, _) => {
            layer.core.calls.load(Ordering::Relaxed) as f64 / (epochs * data.train_len).max(1) as f64
        }
    };
    Ok(Outcome {
        kind,
        trainer,
        accuracy: net.accuracy(&data.test_x, &data.test_y)?,
        calls_per_sample,
        seconds,
        cpu,
        refused,
        steps,
        spoiled: blackbox.spoiled.load(Ordering::Relaxed),
        erasures,
        outliers,
        worst: worst.map_or("—".into(), |w| w.worst_row.name().to_string()),
    })
}

fn rank(report: &StepReport) -> (bool, &'static str) {
    (!report.determined(), report.worst_row.name())
}

// ---------------------------------------------------------------------------------
// The gradient check of layer (b).

fn gradient_check(samples: usize, device: &Device) -> Result<(f64, f64)> {
    let layer = BlackboxLayer::new(Layer::clean(Kind::Local), &Kind::Local.known(), &VjpSettings::default())?;
    let mut state = SEED ^ 0x6EC;
    let z: Vec<f64> = (0..samples * HIDDEN).map(|_| gaussian(&mut state)).collect();
    let v: Vec<f64> = (0..samples * HIDDEN).map(|_| gaussian(&mut state)).collect();
    let z = Var::from_vec(z, (samples, HIDDEN), device)?;
    let v = Tensor::from_vec(v, (samples, HIDDEN), device)?;
    let sensed = layer.forward(z.as_tensor())?.mul(&v)?.sum_all()?.backward()?;
    let exact = exact_layer(Kind::Local, z.as_tensor(), None)?.mul(&v)?.sum_all()?.backward()?;
    let ws = sensed.get(&z).ok_or("no gradient")?.to_vec2::<f64>()?;
    let we = exact.get(&z).ok_or("no gradient")?.to_vec2::<f64>()?;
    let mut worst = 0.0f64;
    for (a, b) in ws.iter().zip(&we) {
        let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
        let norm: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
        worst = worst.max(diff / norm);
    }
    Ok((worst, layer.last_step().map_or(0.0, |r| r.calls_per_sample())))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let epochs = match args.iter().position(|a| a == "--epochs") {
        Some(i) => args.get(i + 1).ok_or("--epochs needs a number")?.parse()?,
        None if quick => 2,
        None => 20,
    };
    let only: Vec<&str> = args.iter().filter_map(|a| a.strip_prefix("--layers=")).flat_map(|s| s.split(',')).collect();
    let device = Device::Cpu;
    let data = load_digits(&device)?;
    println!(
        "digits: {} training and {} test images; MLP 64 → {HIDDEN} → blackbox ({HIDDEN} → {HIDDEN}) → {HIDDEN2} → 10; Adam 3e-3, batch {BATCH}, {epochs} epochs, seed {SEED}",
        data.train_len,
        data.test_y.dims1()?
    );
    let (error, calls) = gradient_check(100, &device)?;
    println!(
        "\ngradient check, layer (b) noise-free: jacsense vᵀJ against candle autodiff on 100 random samples: worst relative error {error:.1e} ({calls} calls per sample)\n"
    );
    println!("jacsense's plans, made once per layer from what it is told and reused at every sample of every step:\n");
    println!("| layer | told | route | design | decoder | calls per sample | coordinate differences |");
    println!("|---|---|---|---|---|---|---|");
    for kind in Kind::ALL {
        let layer = blackbox_layer(&Arc::new(Layer::new(kind)), &kind.known(), &jacsense_settings(kind))?;
        let scheme = layer.scheme().ok_or("the planner chose the direct route")?;
        let told = match kind {
            Kind::Noisy => "elementwise, noise 1e-4",
            Kind::Local => "banded, 5 wide",
            Kind::Sparse => "1 nonzero per row",
            Kind::Garbage => "banded, 5 wide, outliers 5%",
            Kind::Parametric => "elementwise, 4 parameters",
        };
        println!(
            "| {} | {told} | {:?} | {} | {} | {} | {} |",
            kind.label(),
            layer.route(),
            scheme.settings().design.name(),
            scheme.settings().decoder.name(),
            layer.calls_per_sample(),
            HIDDEN + kind.parameters()
        );
    }
    println!();
    println!(
        "| layer | trainer | test accuracy | calls per sample per step | wall time | CPU time | steps not applied | erasures | garbage calls made | outliers judged | worst row status |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut outcomes = Vec::new();
    for kind in Kind::ALL {
        let letter = &kind.label()[1..2];
        if !only.is_empty() && !only.contains(&letter) {
            continue;
        }
        for trainer in Trainer::ALL.into_iter().filter(|t| t.trains(kind)) {
            let o = train(kind, trainer, &data, epochs, &device)?;
            let calls = if matches!(trainer, Trainer::Exact | Trainer::Frozen) {
                "—".to_string()
            } else {
                format!("{:.1}", o.calls_per_sample)
            };
            println!(
                "| {} | {} | {:.1}% | {calls} | {:.1} s | {} | {} of {} | {} | {} | {} | {} |",
                kind.label(),
                trainer.label(),
                100.0 * o.accuracy,
                o.seconds,
                o.cpu.map_or("—".into(), |c| format!("{c:.1} s")),
                o.refused,
                o.steps,
                o.erasures,
                o.spoiled,
                o.outliers,
                o.worst
            );
            outcomes.push(o);
        }
    }
    // The targets, as measured.
    println!();
    for kind in Kind::ALL {
        let find = |t: Trainer| outcomes.iter().find(|o| o.kind == kind && o.trainer == t);
        let (Some(exact), Some(js), Some(coord)) =
            (find(Trainer::Exact), find(Trainer::Jacsense), find(Trainer::Coordinate))
        else {
            continue;
        };
        println!(
            "{}: jacsense {:+.1} pp against exact backprop, with {:.1}% of coordinate differences' calls",
            kind.label(),
            100.0 * (js.accuracy - exact.accuracy),
            100.0 * js.calls_per_sample / coord.calls_per_sample
        );
        if let Some(nothing) = find(Trainer::ToldNothing) {
            println!(
                "{}: jacsense told nothing {:+.1} pp against exact backprop, with {:.1}% of coordinate differences' calls, {:.1}× jacsense told the row sparsity's wall time",
                kind.label(),
                100.0 * (nothing.accuracy - exact.accuracy),
                100.0 * nothing.calls_per_sample / coord.calls_per_sample,
                nothing.seconds / js.seconds
            );
        }
    }
    let find =
        |k: Kind, t: Trainer| outcomes.iter().find(|o| o.kind == k && o.trainer == t).map(|o| 100.0 * o.accuracy);
    if let (Some(spoiled), Some(clean)) = (find(Kind::Garbage, Trainer::Jacsense), find(Kind::Local, Trainer::Jacsense))
    {
        println!(
            "(d) against its clean layer (b): jacsense {spoiled:.1}% against {clean:.1}% ({:+.1} pp); coordinate differences {:.1}% against {:.1}%; ES {:.1}% against {:.1}%",
            spoiled - clean,
            find(Kind::Garbage, Trainer::Coordinate).unwrap_or(f64::NAN),
            find(Kind::Local, Trainer::Coordinate).unwrap_or(f64::NAN),
            find(Kind::Garbage, Trainer::Es).unwrap_or(f64::NAN),
            find(Kind::Local, Trainer::Es).unwrap_or(f64::NAN),
        );
    }
    Ok(())
}
