//! Joint decoding of a coupled structure `vec(J) = P z + c` (DESIGN.md §2, §4).
//!
//! Every valid measurement `t` gives one equation per row `i`:
//! `Σ_e Σ_(q, coef) coef · δ_t[col e] · z_q = y_it − Σ_e c_e δ_t[col e]` over the
//! row's entries `e`, with `δ_t` the perturbation actually made. Rows share unknowns
//! (symmetry, ties, relations), so the system is solved as a whole. Three methods
//! ([`JointMethod`]):
//!
//! - **Least squares**: column-pivoted QR when the system is small enough to hold
//!   densely (unknowns the data cannot determine are reported, the others keep their
//!   values), otherwise a sparse Cholesky factorization of the normal equations (faer)
//!   with two steps of iterative refinement on the residual.
//! - **L1**: `min ‖M z − y‖₁` as a sparse LP for Clarabel, the equations' residuals
//!   judged against their robust scale, a call dropped when most of its equations are
//!   judged wrong, then least squares on the calls left. Forward differences carry one
//!   offset unknown per row, with `f(x0)` as one more equation, so a wrong `f(x0)` is
//!   one more outlier, not a shift of every difference.
//! - **Substitution**: rows solved one at a time, always the row with the fewest
//!   unknowns not yet solved, by least squares on those alone with the solved ones
//!   substituted (Coleman & Moré's substitution idea, on any parametrization). Each
//!   system is small, so it reaches problems too large for the joint factorization, and
//!   a substitution that solves every unknown certifies that the joint system has full
//!   column rank (it is block triangular with full-rank diagonal blocks). Errors of
//!   early rows propagate to later ones.
//!
//! Each row's equations are weighted by `1 / max(1, |f_i|)`, the unit of relative noise
//! ([`Settings::noise`](crate::Settings::noise)): least squares then weighs rows by
//! their noise, and the residual pools in relative terms. Every row's report carries
//! the joint system's condition number (column-pivoted QR on the dense path, power
//! iteration through the Cholesky factor on the sparse one, not estimated for
//! substitution) and residual degrees of freedom; when the L1 fit's LP stops at a limit
//! or fails (least squares on every call is then all there is), every determined row's
//! status is [`RowStatus::SolverLimit`].

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT};
use faer::Mat;
use faer::linalg::solvers::SolveCore;
use faer::sparse::{SparseColMat, Triplet};

use super::{Decoder, LeastSquares, Outlier, RowReport, RowStatus, SolverLimit, noise_unit};
use crate::design::Difference;
use crate::measurements::Measurements;
use crate::structure::{JointSystem, Parametrization, substitute, system};

/// Largest `equations × unknowns` solved densely.
const DENSE_LIMIT: usize = 1 << 21;

/// Largest `combinations × unknowns` for which standard errors are computed from the
/// sparse factorization (a pair of triangular solves per combination).
const VARIANCE_LIMIT: usize = 1 << 27;

/// How the rows of a coupled structure are solved together
/// ([`Structure::with_coupling`](crate::Structure::with_coupling)), chosen from the
/// [`DecoderChoice`](crate::DecoderChoice): least squares, L1 or substitution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum JointMethod {
    /// The whole system by least squares.
    #[default]
    LeastSquares,
    /// The whole system by L1 (robust to a fraction of grossly wrong calls), then least
    /// squares on the calls judged clean.
    L1,
    /// Row after row, fewest unknowns left first, solved ones substituted.
    Substitution,
}

impl JointMethod {
    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            JointMethod::LeastSquares => "joint-least-squares",
            JointMethod::L1 => "joint-l1",
            JointMethod::Substitution => "joint-substitution",
        }
    }
}

/// The solution (NaN where undetermined), the numerical rank, and the estimated
/// condition number of the (column-scaled) system: ∞ when rank deficient, NaN when not
/// estimated (substitution).
pub(crate) struct JointSolution {
    pub(crate) x: Vec<f64>,
    pub(crate) rank: usize,
    pub(crate) condition: f64,
}

/// Least squares on the whole system, its columns scaled to unit size first (offsets
/// and unknowns seen through steps of 1e-8 differ by that much, and the rank decision
/// is relative to the largest column).
pub(crate) fn solve(sys: &JointSystem) -> JointSolution {
    let mut scale = vec![0.0f64; sys.unknowns];
    for (_, terms) in &sys.rows {
        terms.iter().for_each(|&(q, v)| scale[q] = scale[q].max(v.abs()));
    }
    scale.iter_mut().for_each(|s| *s = if *s > 0.0 { 1.0 / *s } else { 1.0 });
    let scaled = JointSystem {
        rows: sys.rows.iter().map(|(i, terms)| (*i, terms.iter().map(|&(q, v)| (q, v * scale[q])).collect())).collect(),
        rhs: sys.rhs.clone(),
        meas: Vec::new(),
        ..*sys
    };
    let mut sol = solve_scaled(&scaled);
    sol.x.iter_mut().zip(&scale).for_each(|(x, s)| *x *= s);
    sol
}

fn solve_scaled(sys: &JointSystem) -> JointSolution {
    let (k, d) = (sys.rows.len(), sys.unknowns);
    if k.saturating_mul(d) <= DENSE_LIMIT {
        let mut a = Mat::<f64>::zeros(k, d);
        for (r, (_, terms)) in sys.rows.iter().enumerate() {
            for &(q, v) in terms {
                a[(r, q)] = v;
            }
        }
        let y = Mat::<f64>::from_fn(k, 1, |r, _| sys.rhs[r]);
        let mut z = Mat::<f64>::zeros(d, 1);
        let s = LeastSquares::default().solve(a.as_ref(), y.as_ref(), z.as_mut()).remove(0);
        let rank = match s.status {
            RowStatus::Underdetermined { determined, .. } => determined,
            _ => d,
        };
        return JointSolution { x: (0..d).map(|q| z[(q, 0)]).collect(), rank, condition: s.condition };
    }
    let undetermined = || JointSolution { x: vec![f64::NAN; d], rank: 0, condition: f64::INFINITY };
    let Some(normal) = NormalEquations::factor(sys) else { return undetermined() };
    let mut b = Mat::<f64>::zeros(d, 1);
    for ((_, terms), &y) in sys.rows.iter().zip(&sys.rhs) {
        terms.iter().for_each(|&(q, v)| b[(q, 0)] += v * y);
    }
    normal.solve_in_place(b.as_mut());
    let mut x: Vec<f64> = (0..d).map(|q| b[(q, 0)]).collect();
    // Iterative refinement: the normal equations square the condition number, the
    // corrections from the true residual win most of it back.
    for _ in 0..2 {
        let mut c = Mat::<f64>::zeros(d, 1);
        for e in 0..k {
            let r = -sys.residual(e, &x);
            sys.rows[e].1.iter().for_each(|&(q, v)| c[(q, 0)] += v * r);
        }
        normal.solve_in_place(c.as_mut());
        x.iter_mut().enumerate().for_each(|(q, v)| *v += c[(q, 0)]);
    }
    if x.iter().all(|v| v.is_finite()) {
        JointSolution { x, rank: d, condition: normal.condition(sys) }
    } else {
        undetermined()
    }
}

/// `MᵀM = L Lᵀ`, sparse.
struct NormalEquations {
    llt: faer::sparse::linalg::solvers::Llt<usize, f64>,
    d: usize,
}

impl NormalEquations {
    /// `None` when `MᵀM` is not (numerically) positive definite.
    fn factor(sys: &JointSystem) -> Option<NormalEquations> {
        let d = sys.unknowns;
        let mut triplets: Vec<Triplet<usize, usize, f64>> = Vec::new();
        for (_, terms) in &sys.rows {
            for &(qa, va) in terms {
                for &(qb, vb) in terms.iter().filter(|x| x.0 <= qa) {
                    triplets.push(Triplet::new(qa, qb, va * vb));
                }
            }
        }
        let n = SparseColMat::<usize, f64>::try_new_from_triplets(d, d, &triplets).ok()?;
        let llt = n.sp_cholesky(faer::Side::Lower).ok()?;
        Some(NormalEquations { llt, d })
    }

    fn solve_in_place(&self, b: faer::MatMut<'_, f64>) {
        self.llt.solve_in_place_with_conj(faer::Conj::No, b);
    }

    /// An estimate of the condition number of `M`, `√(λ_max / λ_min)` of `MᵀM`, by
    /// power iteration on `MᵀM` and on its inverse (through the factorization): a few
    /// products and solves, each as cheap as one refinement step. Like the ratio of
    /// `R`'s diagonal on the dense path it can only underestimate.
    fn condition(&self, sys: &JointSystem) -> f64 {
        const ITERATIONS: usize = 30;
        let d = self.d;
        if d == 0 {
            return 1.0;
        }
        // A deterministic start with a component along every eigenvector in practice.
        let start = || Mat::<f64>::from_fn(d, 1, |q, _| 1.0 + ((q as f64 + 1.0) * 0.618_033_988_75).fract());
        let normalize = |v: &mut Mat<f64>| {
            let norm = v.col(0).norm_l2();
            if norm > 0.0 && norm.is_finite() {
                v.col_mut(0).iter_mut().for_each(|x| *x /= norm);
            }
            norm
        };
        let mut v = start();
        normalize(&mut v);
        let mut lambda_max = 0.0;
        for _ in 0..ITERATIONS {
            let mut w = Mat::<f64>::zeros(d, 1);
            for (_, terms) in &sys.rows {
                let mv: f64 = terms.iter().map(|&(q, a)| a * v[(q, 0)]).sum();
                terms.iter().for_each(|&(q, a)| w[(q, 0)] += a * mv);
            }
            lambda_max = normalize(&mut w);
            v = w;
        }
        let mut v = start();
        normalize(&mut v);
        let mut inverse_max = 0.0;
        for _ in 0..ITERATIONS {
            self.solve_in_place(v.as_mut());
            inverse_max = normalize(&mut v);
        }
        let kappa2 = lambda_max * inverse_max;
        if kappa2.is_finite() { kappa2.max(1.0).sqrt() } else { f64::INFINITY }
    }

    /// `cᵀ (MᵀM)⁻¹ c` for each combination `c` of unknowns; `None` when that would
    /// take too long.
    fn variances(&self, combinations: &[Vec<(usize, f64)>]) -> Option<Vec<f64>> {
        if combinations.len().saturating_mul(self.d) > VARIANCE_LIMIT {
            return None;
        }
        let mut out = Vec::with_capacity(combinations.len());
        const BLOCK: usize = 64;
        for chunk in combinations.chunks(BLOCK) {
            let mut b = Mat::<f64>::zeros(self.d, chunk.len());
            for (j, c) in chunk.iter().enumerate() {
                c.iter().for_each(|&(q, v)| b[(q, j)] += v);
            }
            let rhs = b.clone();
            self.solve_in_place(b.as_mut());
            out.extend((0..chunk.len()).map(|j| (0..self.d).map(|q| rhs[(q, j)] * b[(q, j)]).sum::<f64>()));
        }
        Some(out)
    }
}

/// Largest `|y|` handed to the LP, in units of the median `|y|`.
const CLIP: f64 = 1e6;

/// L1 fit of the whole system by Clarabel (`min Σs, −s ≤ M x − y ≤ s`), on columns
/// and data scaled to unit size, with the limit Clarabel stopped at when it did not
/// solve the LP (its last iterate is kept when it reached an iteration or time limit or
/// reduced accuracy). `Err` with the limit when the solver fails outright.
fn solve_l1(sys: &JointSystem) -> Result<(Vec<f64>, Option<SolverLimit>), SolverLimit> {
    let (k, d) = (sys.rows.len(), sys.unknowns);
    if k == 0 {
        return Err(SolverLimit::NumericalError);
    }
    let mut col_scale = vec![0.0f64; d];
    for (_, terms) in &sys.rows {
        terms.iter().for_each(|&(q, v)| col_scale[q] = col_scale[q].max(v.abs()));
    }
    col_scale.iter_mut().for_each(|s| *s = if *s > 0.0 { 1.0 / *s } else { 1.0 });
    let mut abs_rhs: Vec<f64> = sys.rhs.iter().map(|v| v.abs()).collect();
    let mid = abs_rhs.len() / 2;
    let typical = *abs_rhs.select_nth_unstable_by(mid, f64::total_cmp).1;
    let rhs_scale = if typical > 0.0 && typical.is_finite() { 1.0 / typical } else { 1.0 };

    // Columns of M, then of −I twice: constraints [M −I; −M −I] (x, s) ≤ (y, −y).
    let mut cols: Vec<Vec<(usize, f64)>> = vec![Vec::new(); d];
    for (e, (_, terms)) in sys.rows.iter().enumerate() {
        terms.iter().for_each(|&(q, v)| cols[q].push((e, v * col_scale[q])));
    }
    let (mut colptr, mut rowval, mut nzval) = (vec![0], Vec::new(), Vec::new());
    for col in &cols {
        rowval.extend(col.iter().map(|&(e, _)| e).chain(col.iter().map(|&(e, _)| k + e)));
        nzval.extend(col.iter().map(|&(_, v)| v).chain(col.iter().map(|&(_, v)| -v)));
        colptr.push(rowval.len());
    }
    for e in 0..k {
        rowval.extend([e, k + e]);
        nzval.extend([-1.0, -1.0]);
        colptr.push(rowval.len());
    }
    let n = d + k;
    let constraints = CscMatrix::new(2 * k, n, colptr, rowval, nzval);
    let p = CscMatrix::<f64>::zeros((n, n));
    let q: Vec<f64> = (0..n).map(|j| if j < d { 0.0 } else { 1.0 }).collect();
    // An equation far off stays off if its value moves further away (an L1 fit depends
    // only on the sign of the residuals it does not fit), so values are clipped to a
    // range the interior-point method handles.
    let clipped: Vec<f64> = sys.rhs.iter().map(|v| (v * rhs_scale).clamp(-CLIP, CLIP)).collect();
    let b: Vec<f64> = clipped.iter().copied().chain(clipped.iter().map(|v| -v)).collect();
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(1e-10)
        .tol_gap_rel(1e-10)
        .tol_feas(1e-10)
        .max_iter(200)
        .build()
        .expect("valid Clarabel settings");
    let mut solver = DefaultSolver::new(&p, &q, &constraints, &b, &[NonnegativeConeT(2 * k)], settings)
        .map_err(|_| SolverLimit::NumericalError)?;
    solver.solve();
    let limit = SolverLimit::of_clarabel(solver.solution.status);
    match limit {
        None | Some(SolverLimit::ReducedAccuracy | SolverLimit::Iterations | SolverLimit::Time) => {}
        Some(failed) => return Err(failed),
    }
    let x: Vec<f64> = (0..d).map(|q| solver.solution.x[q] * col_scale[q] / rhs_scale).collect();
    if x.iter().all(|v| v.is_finite()) { Ok((x, limit)) } else { Err(SolverLimit::NumericalError) }
}

/// Equations whose L1 residual is gross: beyond `THRESHOLD` robust standard deviations
/// (`1.4826 ·` the median absolute residual) and beyond `FLOOR` times the typical size
/// of the data (the solver's accuracy, so that exact data flag nothing).
fn judge(sys: &JointSystem, x: &[f64]) -> Vec<bool> {
    const THRESHOLD: f64 = 4.0;
    const FLOOR: f64 = 1e-6;
    let r: Vec<f64> = (0..sys.rows.len()).map(|e| sys.residual(e, x).abs()).collect();
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        let mid = v.len() / 2;
        if v.is_empty() { 0.0 } else { *v.select_nth_unstable_by(mid, f64::total_cmp).1 }
    };
    let abs_rhs: Vec<f64> = sys.rhs.iter().map(|v| v.abs()).collect();
    let limit = (THRESHOLD * 1.4826 * median(&r)).max(FLOOR * median(&abs_rhs));

    r.iter().map(|&v| v.is_nan() || v > limit).collect()
}

/// The calls an L1 fit judges grossly wrong, with the equations that flagged them and
/// those that saw them: per measurement, and for `f(x0)` (its equations in the rows'
/// offsets).
struct Verdict {
    wrong: Vec<Option<(usize, usize)>>,
    base: Option<(usize, usize)>,
}

/// L1 fits until no call is left that nearly all its equations flag (at most
/// `ROUNDS`): such calls are removed and the rest fitted again — with little redundancy
/// the gross calls pull the fit, and clean equations near them look wrong too. Then a
/// call is wrong when most of its equations say so. `None` when the LP solver fails on
/// the first fit; beside it, the most serious limit the LP solver stopped at.
fn robust_verdicts(sys: &JointSystem, k: usize) -> (Option<Verdict>, Option<SolverLimit>) {
    const ROUNDS: usize = 3;
    let mut verdict = Verdict { wrong: vec![None; k], base: None };
    let mut limit = None;
    for round in 0..ROUNDS {
        let active = sys.subset(|e| match sys.meas[e] {
            Some(t) => verdict.wrong[t].is_none(),
            None => verdict.base.is_none(),
        });
        let x = match solve_l1(&active) {
            Ok((x, l)) => {
                limit = SolverLimit::worst(limit, l);
                x
            }
            Err(failed) => {
                limit = SolverLimit::worst(limit, Some(failed));
                if round == 0 {
                    return (None, limit);
                }
                break;
            }
        };
        let flagged = judge(&active, &x);
        let (mut votes, mut base_votes) = (vec![(0usize, 0usize); k], (0usize, 0usize));
        for (e, &f) in flagged.iter().enumerate() {
            let v = match active.meas[e] {
                Some(t) => &mut votes[t],
                None => &mut base_votes,
            };
            v.0 += usize::from(f);
            v.1 += 1;
        }
        let nearly_all = |(f, s): (usize, usize)| f > 0 && 10 * f >= 9 * s;
        let most = |(f, s): (usize, usize)| f > 0 && 2 * f >= s;
        let last = round + 1 == ROUNDS || !(votes.iter().any(|&v| nearly_all(v)) || nearly_all(base_votes));
        let rule = if last { most } else { nearly_all };
        for (t, &v) in votes.iter().enumerate() {
            if verdict.wrong[t].is_none() && rule(v) {
                verdict.wrong[t] = Some(v);
            }
        }
        if verdict.base.is_none() && rule(base_votes) {
            verdict.base = Some(base_votes);
        }
        if last {
            break;
        }
    }
    (Some(verdict), limit)
}

/// Rows solved one at a time, fewest unsolved unknowns first (module docs), each by
/// least squares.
fn solve_substitution(sys: &JointSystem, ls: &LeastSquares) -> JointSolution {
    let (x, rank) = substitute(sys, |a, y, z| {
        ls.solve(a, y, z);
    });
    JointSolution { x, rank, condition: f64::NAN }
}

/// What a joint decode returns to the driver. The residual sum of squares is relative
/// (each row's residuals in units of `max(1, |f_i|)`), and every row's report carries
/// the joint system's condition number and residual degrees of freedom.
pub(crate) struct JointDecode {
    pub(crate) values: Vec<f64>,
    pub(crate) std_errors: Vec<f64>,
    pub(crate) rows: Vec<RowReport>,
    pub(crate) rss: f64,
    pub(crate) dof: usize,
    pub(crate) outliers: Vec<Outlier>,
    pub(crate) valid_measurements: usize,
}

/// Decodes `meas` through `param` by `method`: values on `param.pattern()`, standard
/// errors, per-row reports, the residual sum of squares and its degrees of freedom,
/// and the calls judged grossly wrong.
pub(crate) fn decode(
    meas: &Measurements<'_>,
    param: &Parametrization,
    valid: &[bool],
    method: JointMethod,
) -> JointDecode {
    let plan = meas.plan();
    let index = plan.index();
    let k = plan.measurements();
    let steps = plan.steps();
    let pattern = param.pattern();
    let forward = plan.settings().difference == Difference::Forward;
    // Forward differences: one offset per row, with f(x0) as one more equation. The
    // equations of raw values are independent where differences would share the noise
    // of f(x0) (least squares then weighs them right and sees the noise of one call);
    // a wrong f(x0) is one more outlier for L1; a missing one leaves the offset to the
    // other equations. Exact data determine the same unknowns either way.
    let with_offsets = forward;
    let base = |i: usize| meas.f0().map_or(f64::NAN, |f0| f0[i]);
    let slot_of = |i: usize, t: usize| {
        if index.all {
            i * k + t
        } else {
            let seen = &index.meas[index.row_ptr[i]..index.row_ptr[i + 1]];
            index.row_ptr[i] + seen.binary_search(&t).expect("a row sees the measurements of its columns")
        }
    };
    let mut sys = system(
        param,
        |c, visit| {
            plan.directions().for_each_in_coordinate(c, |t, coef| {
                if valid[t] {
                    visit(t, plan.effective_coefficient(c, coef) * steps[c]);
                }
            })
        },
        |i, t| meas.difference(i, slot_of(i, t), !with_offsets),
        with_offsets.then_some(&base as &dyn Fn(usize) -> f64),
    );
    // Noise is relative to max(1, |f_i|) (Settings::noise): each row's equations are
    // weighted by the inverse of that unit, so that least squares weighs rows by their
    // noise and the residual pools in relative terms.
    let unit: Vec<f64> = (0..pattern.nrows())
        .map(|i| {
            let seen: Vec<usize> =
                if index.all { (0..k).collect() } else { index.meas[index.row_ptr[i]..index.row_ptr[i + 1]].to_vec() };
            noise_unit(meas, seen.into_iter().filter(|&t| valid[t]).map(|t| slot_of(i, t)))
        })
        .collect();
    for (e, (i, terms)) in sys.rows.iter_mut().enumerate() {
        let w = 1.0 / unit[*i];
        terms.iter_mut().for_each(|t| t.1 *= w);
        sys.rhs[e] *= w;
    }

    let mut outliers = Vec::new();
    let mut flagged_in_row = vec![0usize; pattern.nrows()];
    let mut limit = None;
    let (sys, sol) = match method {
        JointMethod::LeastSquares => {
            let sol = solve(&sys);
            (sys, sol)
        }
        JointMethod::Substitution => {
            let sol = solve_substitution(&sys, &LeastSquares::default());
            (sys, sol)
        }
        JointMethod::L1 => match robust_verdicts(&sys, k) {
            (None, failed) => {
                // No robust fit at all: least squares on every call, reported as the
                // LP solver's failure.
                limit = failed;
                let sol = solve(&sys);
                (sys, sol)
            }
            (Some(verdict), stopped) => {
                limit = stopped;
                if let Some((flagged, seen)) = verdict.base {
                    outliers.push(Outlier { call: 0, rows_flagged: flagged, rows_seen: seen });
                }
                for (t, v) in verdict.wrong.iter().enumerate() {
                    let Some((flagged, seen)) = *v else { continue };
                    let (plus, minus) = plan.calls_of(t);
                    for call in std::iter::once(plus).chain(minus) {
                        outliers.push(Outlier { call, rows_flagged: flagged, rows_seen: seen });
                    }
                }
                outliers.sort_unstable_by_key(|o| o.call);
                let keep = |e: usize| match sys.meas[e] {
                    Some(t) => verdict.wrong[t].is_none(),
                    None => verdict.base.is_none(),
                };
                for e in (0..sys.rows.len()).filter(|&e| !keep(e)) {
                    flagged_in_row[sys.rows[e].0] += 1;
                }
                let clean = sys.subset(keep);
                let sol = solve(&clean);
                (clean, sol)
            }
        },
    };
    let d = sys.d;
    let z = &sol.x[..d];
    let values = param.assemble(z).values().to_vec();
    // Residuals per row over the determined part (undetermined unknowns at zero).
    let xb: Vec<f64> = sol.x.iter().map(|v| if v.is_nan() { 0.0 } else { *v }).collect();
    let mut rss_row = vec![0.0; pattern.nrows()];
    let mut eqs_row = vec![0usize; pattern.nrows()];
    for e in 0..sys.rows.len() {
        let r = sys.residual(e, &xb);
        rss_row[sys.rows[e].0] += r * r;
        eqs_row[sys.rows[e].0] += 1;
    }
    let rss: f64 = rss_row.iter().sum();
    let dof = sys.rows.len().saturating_sub(sol.rank);
    let std_errors = if dof > 0 && sol.rank == sys.unknowns && method != JointMethod::Substitution {
        entry_std_errors(&sys, param, rss / dof as f64)
    } else {
        vec![f64::NAN; pattern.nnz()]
    };
    let noise_var = if dof > 0 { rss / dof as f64 } else { f64::NAN };
    let reports = (0..pattern.nrows())
        .map(|i| {
            let row = &values[pattern.row_range(i)];
            let determined = row.iter().filter(|v| !v.is_nan()).count();
            let status = match limit {
                _ if determined < row.len() => RowStatus::Underdetermined { determined, unknowns: row.len() },
                Some(limit) if eqs_row[i] > 0 => RowStatus::SolverLimit(limit),
                _ => RowStatus::Determined,
            };
            // The joint κ speaks for every row only when the system has full rank; a
            // rank-deficient one leaves its determined rows' conditioning unknown.
            let condition = match status {
                RowStatus::Underdetermined { .. } => f64::INFINITY,
                _ if sol.rank < sys.unknowns => f64::NAN,
                _ => sol.condition,
            };
            RowReport {
                status,
                residual: rss_row[i].sqrt() * unit[i],
                // The joint κ speaks for every row only when the system has full rank;
                // a rank-deficient one leaves its determined rows' conditioning unknown.
                condition,
                measurements: eqs_row[i],
                dof: if eqs_row[i] > 0 { dof } else { 0 },
                outliers: flagged_in_row[i],
                offset: with_offsets && !param.row_unknowns(i).is_empty(),
                noise: (dof > 0).then(|| noise_var.sqrt() * unit[i]),
            }
        })
        .collect();
    let valid_measurements = {
        let mut used = vec![false; k];
        sys.meas.iter().flatten().for_each(|&t| used[t] = true);
        used.iter().filter(|&&u| u).count()
    };
    JointDecode { values, std_errors, rows: reports, rss, dof, outliers, valid_measurements }
}

/// Standard error of every entry `Σ coef · z_q + c`: `σ · √(cᵀ (MᵀM)⁻¹ c)`, from the
/// sparse factorization of the normal equations (NaN when that is singular or too
/// large to invert column by column).
fn entry_std_errors(sys: &JointSystem, param: &Parametrization, noise_var: f64) -> Vec<f64> {
    let nnz = param.pattern().nnz();
    let Some(normal) = NormalEquations::factor(sys) else { return vec![f64::NAN; nnz] };
    // Single-term entries share their unknown's variance; others need their own.
    let mut combos: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut slot_of_unknown = vec![usize::MAX; sys.unknowns];
    let mut slot = vec![usize::MAX; nnz];
    for (e, s) in slot.iter_mut().enumerate() {
        match param.entry(e).terms {
            [] => {}
            [(q, _)] => {
                if slot_of_unknown[*q] == usize::MAX {
                    slot_of_unknown[*q] = combos.len();
                    combos.push(vec![(*q, 1.0)]);
                }
                *s = slot_of_unknown[*q];
            }
            terms => {
                *s = combos.len();
                combos.push(terms.to_vec());
            }
        }
    }
    let Some(var) = normal.variances(&combos) else { return vec![f64::NAN; nnz] };
    (0..nnz)
        .map(|e| match param.entry(e).terms {
            [] => 0.0,
            [(_, coef)] => coef.abs() * (noise_var * var[slot[e]].max(0.0)).sqrt(),
            _ => (noise_var * var[slot[e]].max(0.0)).sqrt(),
        })
        .collect()
}
