//! Iterated greedy recoloring: fewer colors from a coloring already found.
//!
//! Culberson, "Iterated greedy graph coloring and the difficulty landscape", Technical
//! Report TR 92-07, University of Alberta, 1992: run first-fit greedy again with the
//! vertices visited class by class of the current coloring. A class is independent, so
//! its first vertex takes a color no higher than the class's position in the visiting
//! order and every later vertex of the class can take that color too; the new coloring
//! never has more colors than the old one. Visiting the classes in a different order
//! each pass lets vertices slide into lower classes and empties the highest ones.
//!
//! The class orders alternate among reverse (highest color first, Culberson's
//! strongest single rule), largest class first, and a pseudo-random permutation drawn
//! from a fixed splitmix64 stream, so a result is a function of its input alone.
//! Within a class, vertices keep ascending index order; the order inside a class does
//! not change the result, since no two members are adjacent and each one's color
//! depends only on the classes visited before it. Each pass is one
//! [`greedy`](super::column::greedy) call on the same distance-2 graph, plus a
//! counting sort of the vertices by class: `O(Σ_nets |net|² + n)`.

use super::column::greedy;
use super::{Bipartite, Coloring};
use crate::pattern::Pattern;

/// Recolors the columns by `iterations` passes of iterated greedy, starting from
/// `coloring`. When `coloring` is a valid column coloring the result is valid and has
/// at most as many colors; passes stop early once the colors reach
/// [`lower_bound`](super::lower_bound), which no coloring beats.
///
/// An invalid `coloring` still yields a valid result (first-fit is valid whatever the
/// order), but possibly with more colors; check the input with
/// [`check_column_coloring`](super::check_column_coloring) when it comes from
/// elsewhere.
///
/// # Panics
/// When `coloring.len() != pattern.ncols()`.
///
/// ```
/// use jacsense::{Pattern, coloring::{Ordering, check_column_coloring, color_columns, recolor_columns}};
/// // 5-point Laplacian on a 50 × 50 grid.
/// let k = 50;
/// let mut entries = Vec::new();
/// for a in 0..k {
///     for b in 0..k {
///         let r = a * k + b;
///         entries.push((r, r));
///         if a > 0 { entries.push((r, r - k)); }
///         if a + 1 < k { entries.push((r, r + k)); }
///         if b > 0 { entries.push((r, r - 1)); }
///         if b + 1 < k { entries.push((r, r + 1)); }
///     }
/// }
/// let p = Pattern::from_triplets(k * k, k * k, &entries)?;
/// let greedy = color_columns(&p, Ordering::SmallestLast);
/// let better = recolor_columns(&p, &greedy, 20);
/// assert_eq!((greedy.num_colors(), better.num_colors()), (7, 6));
/// check_column_coloring(&p, &better)?;
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn recolor_columns(pattern: &Pattern, coloring: &Coloring, iterations: usize) -> Coloring {
    assert_eq!(coloring.len(), pattern.ncols(), "a column coloring has one color per column");
    let transpose = pattern.transpose();
    iterated_greedy(&Bipartite::new(pattern, &transpose), coloring, Budget::fixed(iterations))
}

/// Recolors the rows by `iterations` passes of iterated greedy, starting from
/// `coloring`; the row counterpart of [`recolor_columns`], with the same guarantees
/// (valid, no more colors than a valid `coloring`, early stop at the largest column
/// count).
///
/// # Panics
/// When `coloring.len() != pattern.nrows()`.
///
/// ```
/// use jacsense::{Pattern, coloring::{Coloring, check_row_coloring, recolor_rows}};
/// // Rows 0..4 of a tridiagonal pattern colored one color each: valid but wasteful.
/// let p = Pattern::banded(4, 4, 1, 1);
/// let c = recolor_rows(&p, &Coloring::new(vec![0, 1, 2, 3]), 10);
/// assert_eq!(c.num_colors(), 3);
/// check_row_coloring(&p, &c)?;
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn recolor_rows(pattern: &Pattern, coloring: &Coloring, iterations: usize) -> Coloring {
    assert_eq!(coloring.len(), pattern.nrows(), "a row coloring has one color per row");
    let transpose = pattern.transpose();
    iterated_greedy(&Bipartite::new(&transpose, pattern), coloring, Budget::fixed(iterations))
}

/// How many passes iterated greedy may make.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    /// Passes at most.
    pub(crate) iterations: usize,
    /// Stop after this many passes in a row without fewer colors.
    pub(crate) patience: usize,
}

impl Budget {
    /// Exactly `iterations` passes unless the lower bound is reached.
    pub(crate) fn fixed(iterations: usize) -> Self {
        Budget { iterations, patience: usize::MAX }
    }

    /// The default of [`best_column_coloring`](super::best_column_coloring): stop after
    /// one round of the schedule without fewer colors, and after at most 30 passes or
    /// [`WORK_PER_START`] of first-fit work, whichever is less (at least one pass).
    pub(crate) fn default_for(g: &Bipartite<'_>) -> Self {
        let per_pass: usize = (0..g.nets.nrows()).map(|i| g.nets.row_count(i).pow(2)).sum::<usize>() + g.num_vertices();
        Budget { iterations: (WORK_PER_START / per_pass.max(1)).clamp(1, 30), patience: SCHEDULE.len() }
    }
}

/// First-fit work (`Σ_nets |net|² + n` per pass) allowed per starting coloring by
/// [`Budget::default_for`]: 4 passes on the 1000 × 1000 5-point Laplacian, 16 on the
/// 50³ 7-point one, 30 on anything below 3.3 million per pass.
const WORK_PER_START: usize = 100_000_000;

/// Iterated greedy on `g` from `start` within `budget`.
pub(crate) fn iterated_greedy(g: &Bipartite<'_>, start: &Coloring, budget: Budget) -> Coloring {
    let lower_bound = g.nets.max_row_count();
    let mut current = start.clone();
    let mut classes = ClassOrders::new();
    let mut since_improvement = 0;
    for _ in 0..budget.iterations {
        if current.num_colors() <= lower_bound.max(1) || since_improvement >= budget.patience {
            break;
        }
        let rank = classes.next(&current);
        let next = greedy(g, &vertices_by_class(&current, &rank));
        since_improvement = if next.num_colors() < current.num_colors() { 0 } else { since_improvement + 1 };
        current = next;
    }
    current
}

/// The vertices of `coloring` grouped by class, class `c` at position `rank[c]`, each
/// class in ascending vertex order (a counting sort, stable in the index).
fn vertices_by_class(coloring: &Coloring, rank: &[usize]) -> Vec<usize> {
    let mut start = vec![0usize; rank.len() + 1];
    for &c in coloring.colors() {
        start[rank[c] + 1] += 1;
    }
    for r in 0..rank.len() {
        start[r + 1] += start[r];
    }
    let mut order = vec![0usize; coloring.len()];
    for (v, &c) in coloring.colors().iter().enumerate() {
        order[start[rank[c]]] = v;
        start[rank[c]] += 1;
    }
    order
}

/// How one pass orders the classes.
#[derive(Clone, Copy)]
enum ClassOrder {
    /// Highest color first.
    Reverse,
    /// Most vertices first; equal sizes highest color first.
    LargestFirst,
    /// A pseudo-random permutation.
    Random,
}

/// The class orders of successive passes, repeated. Reverse gets four passes in six:
/// on the Laplacian and random patterns of `examples/coloring.rs` it found every
/// reduction that reverse, largest-first and random in equal turns found, and some
/// more (3D 50³ from natural: 12 → 11 colors, where equal turns stay at 12).
const SCHEDULE: [ClassOrder; 6] = [
    ClassOrder::Reverse,
    ClassOrder::Reverse,
    ClassOrder::LargestFirst,
    ClassOrder::Reverse,
    ClassOrder::Reverse,
    ClassOrder::Random,
];

/// The class order of each pass, following [`SCHEDULE`].
struct ClassOrders {
    pass: usize,
    rng: SplitMix64,
}

impl ClassOrders {
    fn new() -> Self {
        // Any fixed seed: the stream only has to be the same on every run.
        ClassOrders { pass: 0, rng: SplitMix64(0x6a09_e667_f3bc_c909) }
    }

    /// `rank[c]`: where class `c` of `coloring` is visited in the next pass.
    fn next(&mut self, coloring: &Coloring) -> Vec<usize> {
        let k = coloring.num_colors();
        let mut classes: Vec<usize> = (0..k).rev().collect();
        match SCHEDULE[self.pass % SCHEDULE.len()] {
            ClassOrder::Reverse => {}
            ClassOrder::LargestFirst => {
                let mut sizes = vec![0usize; k];
                for &c in coloring.colors() {
                    sizes[c] += 1;
                }
                // Stable: equal sizes keep the highest class first.
                classes.sort_by_key(|&c| std::cmp::Reverse(sizes[c]));
            }
            ClassOrder::Random => {
                for i in (1..k).rev() {
                    classes.swap(i, self.rng.below(i + 1));
                }
            }
        }
        self.pass += 1;
        let mut rank = vec![0usize; k];
        for (r, &c) in classes.iter().enumerate() {
            rank[c] = r;
        }
        rank
    }
}

/// Steele, Lea and Flood's splitmix64 (the seeding generator of xoshiro): a tiny
/// generator whose stream is fixed by its seed.
pub(super) struct SplitMix64(pub(super) u64);

impl SplitMix64 {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..n` for shuffling a few classes (`n ≥ 1`): the high bits
    /// scaled, whose bias is below `n / 2⁶⁴`.
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}
