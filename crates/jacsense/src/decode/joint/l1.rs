//! L1 on the whole joint system (`min ‖M z − y‖₁`, a sparse LP for Clarabel), the
//! equations' residuals judged against their robust scale, and the calls whose
//! equations are mostly judged wrong.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT};

use crate::decode::SolverLimit;
use crate::structure::JointSystem;

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
pub(super) struct Verdict {
    pub(super) wrong: Vec<Option<(usize, usize)>>,
    pub(super) base: Option<(usize, usize)>,
}

/// L1 fits until no call is left that nearly all its equations flag (at most
/// `ROUNDS`): such calls are removed and the rest fitted again — with little redundancy
/// the gross calls pull the fit, and clean equations near them look wrong too. Then a
/// call is wrong when most of its equations say so. `None` when the LP solver fails on
/// the first fit; beside it, the most serious limit the LP solver stopped at.
pub(super) fn robust_verdicts(sys: &JointSystem, k: usize) -> (Option<Verdict>, Option<SolverLimit>) {
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
