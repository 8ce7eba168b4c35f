//! The equations a parametrization gives for a set of perturbations (DESIGN.md §2):
//! every measurement `t` gives one equation per row `i`,
//! `Σ_e Σ_(q, coef) coef · δ_t[col e] · z_q = y_it − Σ_e c_e δ_t[col e]` over the row's
//! entries `e`. The joint decoders solve them; the planner builds them with no data to
//! find, before any call, how many directions determine the unknowns.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use faer::linalg::solvers::SolveCore;
use faer::sparse::{SparseColMat, Triplet};
use faer::{Mat, MatMut, MatRef};

use super::Parametrization;

/// The joint system: sparse rows of `M` and the right-hand side.
pub(crate) struct JointSystem {
    /// Per equation: its row of `J`, and its `(unknown, value)` pairs.
    pub(crate) rows: Vec<(usize, Vec<(usize, f64)>)>,
    pub(crate) rhs: Vec<f64>,
    /// Per equation: its measurement, or `None` for a row's `f(x0)` equation.
    pub(crate) meas: Vec<Option<usize>>,
    /// Unknowns: `z` (the first `d`), then one offset per row when there are offsets.
    pub(crate) unknowns: usize,
    pub(crate) d: usize,
}

impl JointSystem {
    /// The system with every unknown's column scaled to largest entry 1, and the factor
    /// each column was multiplied by (1 for an empty column): unknowns seen through
    /// steps of 1e-8 and offsets differ by that much, and rank and condition decisions
    /// are relative to the largest column.
    pub(crate) fn scaled(&self) -> (JointSystem, Vec<f64>) {
        let mut scale = vec![0.0f64; self.unknowns];
        for (_, terms) in &self.rows {
            terms.iter().for_each(|&(q, v)| scale[q] = scale[q].max(v.abs()));
        }
        scale.iter_mut().for_each(|s| *s = if *s > 0.0 { 1.0 / *s } else { 1.0 });
        let rows =
            self.rows.iter().map(|(i, terms)| (*i, terms.iter().map(|&(q, v)| (q, v * scale[q])).collect())).collect();
        (JointSystem { rows, rhs: self.rhs.clone(), meas: self.meas.clone(), ..*self }, scale)
    }

    /// The equations `keep` says yes to.
    pub(crate) fn subset(&self, keep: impl Fn(usize) -> bool) -> JointSystem {
        let mut sys = JointSystem { rows: Vec::new(), rhs: Vec::new(), meas: Vec::new(), ..*self };
        for e in (0..self.rows.len()).filter(|&e| keep(e)) {
            sys.rows.push(self.rows[e].clone());
            sys.rhs.push(self.rhs[e]);
            sys.meas.push(self.meas[e]);
        }
        sys
    }

    pub(crate) fn residual(&self, e: usize, x: &[f64]) -> f64 {
        self.rows[e].1.iter().map(|&(q, v)| v * x[q]).sum::<f64>() - self.rhs[e]
    }
}

/// Builds the equations from `perturbations(c, visit)`, which visits `(t, δ_t[c])` for
/// the perturbations of coordinate `c`, and `value(i, t)`, the measured difference of
/// row `i` in measurement `t` — or, with `base` (`f(x0)_i`, NaN when that call is not
/// usable), its raw value `f(x0 + δ_t)_i`, each row then getting an offset unknown, its
/// `f(x0)` equation, and its data shifted by their median (the offset absorbs it; a
/// grossly wrong value then does not set the scale).
pub(crate) fn system(
    param: &Parametrization,
    mut perturbations: impl FnMut(usize, &mut dyn FnMut(usize, f64)),
    mut value: impl FnMut(usize, usize) -> f64,
    base: Option<&dyn Fn(usize) -> f64>,
) -> JointSystem {
    let pattern = param.pattern();
    let d = param.intrinsic_dimension();
    let mut sys = JointSystem { rows: Vec::new(), rhs: Vec::new(), meas: Vec::new(), unknowns: d, d };
    for i in 0..pattern.nrows() {
        if param.row_unknowns(i).is_empty() {
            continue;
        }
        let mut eqs: BTreeMap<usize, (Vec<(usize, f64)>, f64)> = BTreeMap::new();
        let p0 = pattern.row_start(i);
        for (q, &c) in pattern.row(i).iter().enumerate() {
            let entry = param.entry(p0 + q);
            perturbations(c, &mut |t, delta| {
                let eq = eqs.entry(t).or_default();
                eq.0.extend(entry.terms.iter().map(|&(z, coef)| (z, coef * delta)));
                eq.1 += entry.constant * delta;
            });
        }
        let offset = base.map(|base| {
            sys.unknowns += 1;
            (sys.unknowns - 1, base(i))
        });
        let first = sys.rows.len();
        let mut raw = Vec::with_capacity(eqs.len() + 1);
        for (t, (mut terms, known)) in eqs {
            terms.sort_unstable_by_key(|x| x.0);
            let mut merged: Vec<(usize, f64)> = Vec::with_capacity(terms.len() + 1);
            for (z, v) in terms {
                match merged.last_mut() {
                    Some(last) if last.0 == z => last.1 += v,
                    _ => merged.push((z, v)),
                }
            }
            let y = value(i, t);
            raw.push(y);
            if let Some((o, _)) = offset {
                merged.push((o, 1.0));
            }
            sys.rows.push((i, merged));
            sys.rhs.push(y - known);
            sys.meas.push(Some(t));
        }
        if let Some((o, y0)) = offset {
            if y0.is_finite() {
                raw.push(y0);
                sys.rows.push((i, vec![(o, 1.0)]));
                sys.rhs.push(y0);
                sys.meas.push(None);
            }
            if !raw.is_empty() {
                let mid = raw.len() / 2;
                let shift = *raw.select_nth_unstable_by(mid, f64::total_cmp).1;
                sys.rhs[first..].iter_mut().for_each(|v| *v -= shift);
            }
        }
    }
    sys
}

/// Substitution (Coleman & Moré's idea, on any parametrization): rows solved one at a
/// time, always the row with the fewest unknowns not yet solved, with the solved ones
/// substituted. `block(a, y, z)` solves one row's small system `a z ≈ y` over its open
/// unknowns, writing NaN for those it cannot determine. Returns the unknowns (NaN where
/// undetermined) and how many were determined. A substitution that determines every
/// unknown certifies that the system has full column rank (it is block triangular with
/// full-rank diagonal blocks).
pub(crate) fn substitute(
    sys: &JointSystem,
    mut block: impl FnMut(MatRef<'_, f64>, MatRef<'_, f64>, MatMut<'_, f64>),
) -> (Vec<f64>, usize) {
    let d = sys.unknowns;
    // Equations of each row are contiguous (the system is built row by row).
    let mut row_eqs: Vec<(usize, usize)> = Vec::new();
    for (e, &(i, _)) in sys.rows.iter().enumerate() {
        match row_eqs.last_mut() {
            Some(last) if sys.rows[last.0].0 == i => last.1 = e + 1,
            _ => row_eqs.push((e, e + 1)),
        }
    }
    let unknowns_of = |g: usize| {
        let mut u: Vec<usize> =
            sys.rows[row_eqs[g].0..row_eqs[g].1].iter().flat_map(|r| r.1.iter().map(|t| t.0)).collect();
        u.sort_unstable();
        u.dedup();
        u
    };
    let row_unknowns: Vec<Vec<usize>> = (0..row_eqs.len()).map(unknowns_of).collect();
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); d];
    for (g, u) in row_unknowns.iter().enumerate() {
        u.iter().for_each(|&q| rows_of[q].push(g));
    }
    let mut x = vec![f64::NAN; d];
    let mut solved = vec![false; d];
    let mut left: Vec<usize> = row_unknowns.iter().map(Vec::len).collect();
    let mut done = vec![false; row_eqs.len()];
    let mut heap: BinaryHeap<Reverse<(usize, usize)>> = (0..row_eqs.len()).map(|g| Reverse((left[g], g))).collect();
    while let Some(Reverse((count, g))) = heap.pop() {
        if done[g] || count != left[g] {
            continue;
        }
        done[g] = true;
        if count == 0 {
            continue;
        }
        let open: Vec<usize> = row_unknowns[g].iter().copied().filter(|&q| !solved[q]).collect();
        let (e0, e1) = row_eqs[g];
        let mut a = Mat::<f64>::zeros(e1 - e0, open.len());
        let mut y = Mat::<f64>::zeros(e1 - e0, 1);
        for e in e0..e1 {
            y[(e - e0, 0)] = sys.rhs[e];
            for &(q, v) in &sys.rows[e].1 {
                if solved[q] {
                    y[(e - e0, 0)] -= v * x[q];
                } else {
                    let p = open.binary_search(&q).expect("an unsolved unknown of the row");
                    a[(e - e0, p)] = v;
                }
            }
        }
        let mut z = Mat::<f64>::zeros(open.len(), 1);
        block(a.as_ref(), y.as_ref(), z.as_mut());
        for (p, &q) in open.iter().enumerate() {
            if z[(p, 0)].is_finite() {
                x[q] = z[(p, 0)];
                solved[q] = true;
                for &h in &rows_of[q] {
                    if !done[h] {
                        left[h] -= 1;
                        heap.push(Reverse((left[h], h)));
                    }
                }
            }
        }
    }
    let rank = solved.iter().filter(|&&s| s).count();
    (x, rank)
}

/// Largest `combinations × unknowns` for which standard errors are computed from the
/// sparse factorization (a pair of triangular solves per combination).
const VARIANCE_LIMIT: usize = 1 << 27;

/// `MᵀM = L Lᵀ`, sparse.
pub(crate) struct NormalEquations {
    llt: faer::sparse::linalg::solvers::Llt<usize, f64>,
    d: usize,
}

impl NormalEquations {
    /// `None` when `MᵀM` is not (numerically) positive definite.
    pub(crate) fn factor(sys: &JointSystem) -> Option<NormalEquations> {
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

    pub(crate) fn solve_in_place(&self, b: faer::MatMut<'_, f64>) {
        self.llt.solve_in_place_with_conj(faer::Conj::No, b);
    }

    /// An estimate of the condition number of `M`, `√(λ_max / λ_min)` of `MᵀM`, by
    /// power iteration on `MᵀM` and on its inverse (through the factorization): a few
    /// products and solves, each as cheap as one refinement step. Like the ratio of
    /// `R`'s diagonal on the dense path it can only underestimate.
    pub(crate) fn condition(&self, sys: &JointSystem) -> f64 {
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
    pub(crate) fn variances(&self, combinations: &[Vec<(usize, f64)>]) -> Option<Vec<f64>> {
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
