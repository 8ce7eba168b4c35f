//! Patterns: constructors agree with each other; Matrix Market round-trips and names
//! the line at fault.

use jacsense::{Error, Pattern, SparseMatrix, read_matrix_market, write_matrix_market};
use jacsense_problems::{random_matrix, random_pattern};

#[test]
fn constructors_agree() {
    let p = random_pattern(50, 40, 5, 1);
    let triplets: Vec<(usize, usize)> = p.entries().collect();
    let mut shuffled = triplets.clone();
    shuffled.reverse();
    shuffled.extend_from_slice(&triplets[..10]); // duplicates merge
    assert_eq!(Pattern::from_triplets(50, 40, &shuffled).unwrap(), p);
    let rows: Vec<Vec<usize>> = (0..50).map(|i| p.row(i).to_vec()).collect();
    assert_eq!(Pattern::from_rows(40, &rows).unwrap(), p);
    let row_ptr: Vec<usize> = (0..=50).map(|i| p.row_start(i)).collect();
    let col_idx: Vec<usize> = p.entries().map(|(_, j)| j).collect();
    assert_eq!(Pattern::from_csr(50, 40, row_ptr, col_idx).unwrap(), p);
    assert_eq!(p.transpose().transpose(), p);
    assert_eq!(Pattern::banded(5, 5, 4, 4), Pattern::dense(5, 5));
    assert_eq!(Pattern::block_diagonal(&[(2, 3)]), Pattern::dense(2, 3));
    let empty = Pattern::from_rows(3, &[Vec::<usize>::new(), vec![]]).unwrap();
    assert_eq!((empty.nnz(), empty.max_row_count()), (0, 0));
}

/// A dense pattern (held as one shared row) answers as the full list of its entries
/// does, and any full pattern is stored dense.
#[test]
fn dense_patterns_answer_like_their_entries() {
    for (m, n) in [(0, 0), (0, 3), (3, 0), (1, 1), (4, 3), (3, 5)] {
        let p = Pattern::dense(m, n);
        let all: Vec<(usize, usize)> = (0..m).flat_map(|i| (0..n).map(move |j| (i, j))).collect();
        assert_eq!(Pattern::from_triplets(m, n, &all).unwrap(), p, "{m}×{n}");
        assert!(Pattern::from_triplets(m, n, &all).unwrap().is_dense());
        assert_eq!(p.entries().collect::<Vec<_>>(), all);
        assert_eq!((p.nnz(), p.max_row_count()), (m * n, if m > 0 { n } else { 0 }));
        assert_eq!(p.transpose(), Pattern::dense(n, m));
        for i in 0..m {
            assert_eq!(
                (p.row(i), p.row_start(i), p.row_range(i)),
                (&(0..n).collect::<Vec<_>>()[..], i * n, i * n..(i + 1) * n)
            );
            for j in 0..n + 1 {
                assert_eq!(p.position(i, j), (j < n).then_some(i * n + j));
                assert_eq!(p.contains(i, j), j < n);
            }
        }
        assert_eq!(p.row_start(m), m * n);
        assert!(!p.contains(m, 0));
    }
    // One entry short is not dense; counts never overflow.
    let short = Pattern::from_triplets(2, 2, &[(0, 0), (0, 1), (1, 1)]).unwrap();
    assert!(!short.is_dense() && short != Pattern::dense(2, 2));
    assert_eq!(Pattern::dense(usize::MAX, 2).nnz(), usize::MAX);
}

#[test]
fn matrix_market_round_trips() {
    let a = random_matrix(random_pattern(30, 20, 4, 2), 3);
    let mut buf = Vec::new();
    write_matrix_market(&mut buf, a.pattern(), Some(a.values())).unwrap();
    let (p, v) = read_matrix_market(buf.as_slice()).unwrap();
    assert_eq!(SparseMatrix::new(p, v.unwrap()).unwrap(), a); // shortest round-trip: same bits

    let b = SparseMatrix::new(Pattern::dense(2, 2), vec![0.1, -2.0, 1e-7, f64::NAN]).unwrap();
    let mut buf = Vec::new();
    write_matrix_market(&mut buf, b.pattern(), Some(b.values())).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert_eq!(text, "%%MatrixMarket matrix coordinate real general\n2 2 4\n1 1 0.1\n1 2 -2.0\n2 1 1e-7\n2 2 NaN\n");
}

#[test]
fn matrix_market_symmetric_storage_is_expanded() {
    let text = "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 2.0\n3 1 -1.5\n2 2 4\n";
    let (p, v) = read_matrix_market(text.as_bytes()).unwrap();
    let a = SparseMatrix::new(p, v.unwrap()).unwrap();
    assert_eq!((a.get(0, 2), a.get(2, 0), a.get(1, 1), a.pattern().nnz()), (-1.5, -1.5, 4.0, 4));
}

#[test]
fn matrix_market_errors_name_the_line() {
    let cases = [
        ("%%MatrixMarket matrix array real general\n", 1, "coordinate"),
        ("%%MatrixMarket matrix coordinate complex general\n", 1, "complex"),
        ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 x 1.0\n", 3, "'x'"),
        ("%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1.0\n", 3, "(3, 1)"),
        ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 nan\n", 3, "not finite"),
        ("%%MatrixMarket matrix coordinate pattern general\n%\n2 2 2\n1 1\n", 0, "announces 2"),
        // Sizes in the header are claims: refused before they size an allocation
        // (these aborted in `reserve` or in the row pointers).
        ("%%MatrixMarket matrix coordinate pattern general\n2 2 99999999999999\n1 1\n", 0, "announces 99999999999999"),
        (
            "%%MatrixMarket matrix coordinate pattern general\n99999999999999 2 1\n1 1\n",
            2,
            "pattern rows m = 99999999999999",
        ),
        (
            "%%MatrixMarket matrix coordinate pattern general\n2 18446744073709551615 0\n",
            2,
            "pattern columns n = 18446744073709551615",
        ),
        ("%%MatrixMarket matrix coordinate pattern general\n2 2 1\n1 1\n2 2\n", 4, "more entries than the 1"),
    ];
    for (text, line, needle) in cases {
        match read_matrix_market(text.as_bytes()).unwrap_err() {
            Error::MatrixMarket { line: l, message } => {
                assert_eq!(l, line, "{message}");
                assert!(message.contains(needle), "{message}");
            }
            e => panic!("unexpected {e}"),
        }
    }
}
