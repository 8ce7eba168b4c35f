//! The affine parametrization `vec(J) = P z + c`: intrinsic dimension, coupling, and
//! contradictions named.

use jacsense::{Coupling, Parametrization, Relation};
use jacsense::{Error, Pattern};
use jacsense_problems::random_pattern;

fn values(p: &Parametrization) -> jacsense::SparseMatrix {
    let z: Vec<f64> = (0..p.intrinsic_dimension()).map(|q| 1.0 + q as f64 * 0.5).collect();
    p.assemble(&z)
}

#[test]
fn a_pattern_alone_gives_one_unknown_per_entry_and_no_coupling() {
    let pattern = random_pattern(40, 30, 4, 1);
    let p = Parametrization::new(&pattern, &Coupling::default()).unwrap();
    assert_eq!(p.intrinsic_dimension(), pattern.nnz());
    assert!(!p.is_coupled());
    assert_eq!(p.pattern(), &pattern);
    for i in 0..40 {
        assert_eq!(p.row_unknowns(i).len(), pattern.row_count(i));
    }
}

#[test]
fn symmetry_merges_mirror_entries_and_symmetrizes_the_pattern() {
    // Lower bidiagonal pattern: symmetry adds the upper diagonal.
    let p = Parametrization::new(&Pattern::banded(5, 5, 1, 0), &Coupling { symmetric: true, ..Coupling::default() })
        .unwrap();
    assert_eq!(p.pattern(), &Pattern::banded(5, 5, 1, 1));
    assert_eq!(p.intrinsic_dimension(), 5 + 4);
    assert!(p.is_coupled());
    let j = values(&p);
    for (i, c) in j.pattern().entries() {
        assert_eq!(j.get(i, c), j.get(c, i));
    }
    let e = Parametrization::new(&Pattern::dense(2, 3), &Coupling { symmetric: true, ..Coupling::default() });
    assert!(matches!(e, Err(Error::InvalidStructure(m)) if m.contains("2×3")));
}

/// A 1D convolution with a kernel of width w: every diagonal one unknown.
#[test]
fn tied_diagonals_leave_one_unknown_per_kernel_tap() {
    let (n, w) = (200, 5);
    let pattern = Pattern::banded(n, n, w / 2, w / 2);
    let ties: Vec<Vec<(usize, usize, f64)>> = (0..w)
        .map(|o| (0..n).filter_map(|i| (i + o).checked_sub(w / 2).filter(|&j| j < n).map(|j| (i, j, 1.0))).collect())
        .collect();
    let p = Parametrization::new(&pattern, &Coupling { ties, ..Coupling::default() }).unwrap();
    assert_eq!(p.intrinsic_dimension(), w);
    assert!(p.is_coupled());
    let j = values(&p);
    assert_eq!(j.get(10, 9), j.get(150, 149));
    assert_ne!(j.get(10, 9), j.get(10, 11));
}

#[test]
fn ties_with_factors_and_known_entries() {
    let pattern = Pattern::dense(2, 2);
    let coupling = Coupling {
        ties: vec![vec![(0, 0, 1.0), (1, 1, -2.0)]],
        known: vec![(0, 1, 3.5), (1, 0, 0.0)],
        ..Coupling::default()
    };
    let p = Parametrization::new(&pattern, &coupling).unwrap();
    assert_eq!(p.intrinsic_dimension(), 1);
    let j = p.assemble(&[2.0]);
    assert_eq!((j.get(0, 0), j.get(1, 1), j.get(0, 1), j.get(1, 0)), (2.0, -4.0, 3.5, 0.0));
    // A known value propagates through its tie: nothing is left unknown.
    let coupling = Coupling { known: vec![(0, 1, 3.5), (1, 0, 0.0), (1, 1, 6.0)], ..coupling };
    let p = Parametrization::new(&pattern, &coupling).unwrap();
    assert_eq!(p.intrinsic_dimension(), 0);
    assert_eq!(p.assemble(&[]).get(0, 0), -3.0);
}

#[test]
fn contradictions_are_errors_that_name_the_entries() {
    let pattern = Pattern::dense(3, 3);
    let cases = [
        (
            Coupling {
                ties: vec![vec![(0, 0, 1.0), (1, 1, 2.0)], vec![(0, 0, 1.0), (1, 1, 3.0)]],
                ..Coupling::default()
            },
            "(1, 1)",
        ),
        (
            Coupling {
                ties: vec![vec![(0, 0, 1.0), (2, 2, 1.0)]],
                known: vec![(0, 0, 1.0), (2, 2, 2.0)],
                ..Coupling::default()
            },
            "(2, 2) = 2",
        ),
        (Coupling { symmetric: true, known: vec![(0, 1, 1.0), (1, 0, -1.0)], ..Coupling::default() }, "(1, 0) = -1"),
        (Coupling { ties: vec![vec![(0, 0, 1.0), (0, 1, 0.0)]], ..Coupling::default() }, "factor 0"),
        (
            Coupling {
                relations: vec![Relation { row: 1, combination: vec![(1, 2.0)], constant: vec![] }],
                ..Coupling::default()
            },
            "row 1 refers to itself",
        ),
        (
            Coupling {
                relations: vec![
                    Relation { row: 0, combination: vec![(1, 1.0)], constant: vec![] },
                    Relation { row: 1, combination: vec![(0, 1.0)], constant: vec![] },
                ],
                ..Coupling::default()
            },
            "cycle",
        ),
        (
            Coupling {
                relations: vec![Relation { row: 0, combination: vec![(1, 1.0)], constant: vec![] }],
                known: vec![(0, 2, 1.0)],
                ..Coupling::default()
            },
            "entry (0, 2) cannot be tied or known",
        ),
        // Non-finite numbers anywhere in the coupling are errors naming the entry.
        (
            Coupling { ties: vec![vec![(0, 0, 1.0), (0, 1, f64::NAN)]], ..Coupling::default() },
            "(0, 1) is tied with factor NaN",
        ),
        (Coupling { known: vec![(2, 1, f64::INFINITY)], ..Coupling::default() }, "(2, 1) = inf is not finite"),
        (
            Coupling {
                relations: vec![Relation { row: 2, combination: vec![(0, f64::NEG_INFINITY)], constant: vec![] }],
                ..Coupling::default()
            },
            "row 2: coefficient -inf of row 0 is not finite",
        ),
        (
            Coupling {
                relations: vec![Relation { row: 2, combination: vec![(0, 1.0)], constant: vec![(1, f64::NAN)] }],
                ..Coupling::default()
            },
            "row 2: constant NaN at column 1 is not finite",
        ),
        // Finite factors whose ratio or product leaves f64.
        (
            Coupling { ties: vec![vec![(0, 0, 1e-300), (0, 1, 1e300)]], ..Coupling::default() },
            "(0, 1) is tied to (0, 0) with factor 1e300 / 1e-300 = inf",
        ),
        (
            Coupling {
                ties: vec![vec![(0, 1, 1.0), (0, 0, 1e200)], vec![(0, 2, 1.0), (0, 1, 1e200)]],
                ..Coupling::default()
            },
            "beyond the range of f64",
        ),
        (
            Coupling {
                relations: vec![
                    Relation { row: 1, combination: vec![(0, 1e200)], constant: vec![] },
                    Relation { row: 2, combination: vec![(1, 1e200)], constant: vec![] },
                ],
                ..Coupling::default()
            },
            "the relation for row 2 gives entry (2, 0) a coefficient beyond the range of f64",
        ),
    ];
    for (coupling, needle) in cases {
        match Parametrization::new(&pattern, &coupling) {
            Err(Error::InvalidStructure(m)) => assert!(m.contains(needle), "'{m}' lacks '{needle}'"),
            other => panic!("expected an error naming {needle}, got {other:?}"),
        }
    }
    let e = Parametrization::new(&pattern, &Coupling { known: vec![(3, 0, 1.0)], ..Coupling::default() }).unwrap_err();
    assert_eq!(e, Error::EntryOutOfBounds { row: 3, col: 0, nrows: 3, ncols: 3 });
}

/// A semi-implicit integrator step, q' = q + dt·q̇', q̇' = q̇ + dt·a(q, q̇): the q' rows
/// are dt times the q̇' rows plus the identity on q.
#[test]
fn relation_rows_are_derived_not_unknown() {
    let (s, dt) = (3, 0.01);
    // Inputs (q, q̇), outputs (q', q̇'); a couples everything.
    let pattern = Pattern::dense(2 * s, 2 * s);
    let p = Parametrization::new(&pattern, &Coupling { relations: integrator(s, dt), ..Coupling::default() }).unwrap();
    assert_eq!(p.intrinsic_dimension(), s * 2 * s); // only the q̇' rows are unknown
    assert!(p.is_coupled());
    let j = values(&p);
    for i in 0..s {
        for c in 0..2 * s {
            let expected = dt * j.get(s + i, c) + if c == i { 1.0 } else { 0.0 };
            assert!((j.get(i, c) - expected).abs() <= 4.0 * f64::EPSILON * expected.abs().max(1.0));
        }
        assert_eq!(p.row_unknowns(i), p.row_unknowns(s + i));
    }
    // The derived rows' equations combine the q̇' rows': a q̇' row's 2s unknowns need
    // 2s directions (counting the derived rows as equations said s).
    assert_eq!(p.lower_bound(), 2 * s);
    // Told nothing more, the planner reads every entry off a coloring with that many
    // colors rather than solving jointly over as many random directions.
    let structure = jacsense::Structure::sparse(pattern.clone())
        .with_coupling(Coupling { relations: integrator(s, dt), ..Coupling::default() })
        .unwrap();
    let scheme = jacsense::Scheme::new(&structure, &jacsense::Settings::default()).unwrap();
    assert_eq!(scheme.settings().design.name(), "colored");
    assert_eq!(scheme.calls(), 2 * s + 1);
}

/// `q'_i = q_i + dt·q̇'_i` for `s` coordinates (outputs and inputs `(q, q̇)`).
fn integrator(s: usize, dt: f64) -> Vec<Relation> {
    (0..s).map(|i| Relation { row: i, combination: vec![(s + i, dt)], constant: vec![(i, 1.0)] }).collect()
}

/// A chain of 10⁶ relations, row r = 1·row r − 1 (a time-stepping recurrence), listed
/// last row first so that ordering them walks the whole chain at once: the recursive
/// ordering overflowed the stack here.
#[test]
fn a_chain_of_a_million_relations_is_ordered_without_recursion() {
    let m = 1_000_000;
    let pattern = Pattern::from_rows(2, &vec![vec![0, 1]; m]).unwrap();
    let relations: Vec<Relation> =
        (1..m).rev().map(|r| Relation { row: r, combination: vec![(r - 1, 1.0)], constant: vec![] }).collect();
    let p = Parametrization::new(&pattern, &Coupling { relations, ..Coupling::default() }).unwrap();
    assert_eq!(p.intrinsic_dimension(), 2); // row 0's two entries; every other row repeats them
    let j = p.assemble(&[3.0, -5.0]);
    assert_eq!((j.get(m - 1, 0), j.get(m - 1, 1)), (3.0, -5.0));
    // A cycle closing the chain is still found, and named.
    let mut relations: Vec<Relation> =
        (1..m).map(|r| Relation { row: r, combination: vec![(r - 1, 1.0)], constant: vec![] }).collect();
    relations.push(Relation { row: 0, combination: vec![(m - 1, 1.0)], constant: vec![] });
    match Parametrization::new(&pattern, &Coupling { relations, ..Coupling::default() }) {
        Err(Error::InvalidStructure(msg)) => assert!(msg.contains("form a cycle"), "{msg}"),
        other => panic!("expected a cycle, got {other:?}"),
    }
}

/// A chain of 10⁶ ties, each linking an entry to the next, in the order that makes the
/// union–find's parent chain as long as the entries are many, then a known value at
/// its far end: finding that entry's group recursed once per link.
#[test]
fn a_chain_of_a_million_ties_is_merged_without_recursion() {
    let n = 1_000_000;
    let pattern = Pattern::from_rows(n, &[(0..n).collect::<Vec<_>>()]).unwrap();
    let ties: Vec<Vec<(usize, usize, f64)>> = (0..n - 1).rev().map(|c| vec![(0, c, 1.0), (0, c + 1, 1.0)]).collect();
    let known = vec![(0, n - 1, 7.0)];
    let p = Parametrization::new(&pattern, &Coupling { ties, known, ..Coupling::default() }).unwrap();
    assert_eq!(p.intrinsic_dimension(), 0);
    let j = p.assemble(&[]);
    assert_eq!((j.get(0, 0), j.get(0, n / 2)), (7.0, 7.0));
}
