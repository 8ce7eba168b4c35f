//! Local search: fewer colors than greedy and recoloring find, within a budget.
//!
//! Two searches on the distance-2 graph of the colored side (two columns are adjacent
//! when a row holds both), run after [`best_column_coloring`](super::best_column_coloring):
//!
//! 1. **Exact search at the lower bound** `ρ_max` (no coloring has fewer colors, and
//!    stencil Jacobians reach it): DSATUR with chronological backtracking (Brélaz,
//!    "New methods to color the vertices of a graph", CACM 22, 1979) — the uncolored
//!    vertex with the fewest colors left goes first (ties: the most uncolored
//!    neighbours, then the one updated last, so the search follows its front), with
//!    the smallest color left; a vertex with none undoes the latest decision that has a
//!    color untried. Where the lower bound is tight the colors are nearly forced and
//!    the search colors each vertex about once: the 5-point Laplacian on a 1000 × 1000
//!    grid with 5 colors and the 7-point one on 50³ with 7, where greedy needs 7 and 12.
//!    It gets half the budget.
//! 2. **Tabu search** from the best coloring so far, one color fewer at a time:
//!    TabuCol (Hertz and de Werra, "Using tabu search techniques for graph coloring",
//!    Computing 39, 1987; tenure of Galinier and Hao, "Hybrid evolutionary algorithms
//!    for graph coloring", J. Comb. Optim. 3, 1999). The smallest color class is
//!    removed and each of its vertices goes to the color fewest of its neighbours
//!    have; then, move by move, one conflicting vertex changes color, taking the move
//!    that leaves the fewest conflicting edges (ties at random) among those not tabu.
//!    A vertex that leaves a color may not return to it for `⌊0.6·|C|⌋ + rand(10)`
//!    moves (`|C|` the conflicting vertices), unless the move reaches fewer conflicts
//!    than ever in this attempt (aspiration). Conflicts are counted in a table
//!    `γ[v][c]` (the neighbours of `v` with color `c`, adjacency in CSR): a move
//!    changes the conflicting edges by `γ[v][new] − γ[v][old]` and updates `γ` along
//!    one adjacency list. When many vertices conflict, each move evaluates a random
//!    sample of 64 of them, so that a move costs `O(SAMPLE · k + degree)`
//!    however large the graph.
//!
//! The budget counts *moves* (a vertex colored by the exact search, or a tabu move) and
//! wall time; the search stops at the first limit reached or at the lower bound.
//! Randomness comes from a splitmix64 stream fixed by the seed, so with a move budget
//! alone the result is a function of the pattern, the start and the seed; a time budget
//! makes it depend on the machine's speed (how many moves fit). The coloring returned is
//! always valid and never has more colors than the start.

use std::time::{Duration, Instant};

use super::recolor::SplitMix64;
use super::{Bipartite, Coloring, Distance2};
use crate::pattern::Pattern;

/// Limits of a [`search_columns`] run: it stops at the first limit reached, or at the
/// lower bound. With neither limit it runs until the lower bound, which may be never.
///
/// ```
/// use jacsense::coloring::SearchLimit;
/// let limit = SearchLimit { moves: Some(100_000), ..SearchLimit::default() };
/// assert_eq!(limit.time, None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchLimit {
    /// Most moves in all (a vertex colored by the exact search, or a tabu move).
    pub moves: Option<u64>,
    /// Most wall time.
    pub time: Option<Duration>,
    /// Seed of the tie-breaking and sampling stream.
    pub seed: u64,
}

/// What a local search did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchOutcome {
    /// The best valid coloring found (the start when nothing better was).
    pub coloring: Coloring,
    /// Colors of the start.
    pub start_colors: usize,
    /// Moves made.
    pub moves: u64,
    /// Wall time taken, the adjacency's construction included.
    pub elapsed: Duration,
    /// Whether the coloring has the lower bound's colors (`ρ_max`), so that no search
    /// can do better.
    pub optimal: bool,
}

/// Improves a valid column coloring of `pattern` within `limit`. The result is valid
/// when `start` is, and never has more colors.
///
/// On the distance-2 graph of the columns (two are adjacent when a row holds both):
/// first an exact search for a coloring with the lower bound's `ρ_max` colors (DSATUR
/// with chronological backtracking, Brélaz 1979; half the budget), which stencil
/// patterns reach with colors nearly forced; then tabu search (TabuCol, Hertz and de
/// Werra 1987, with Galinier and Hao's tenure) from the best coloring so far, one color
/// fewer at a time: the smallest class is removed, and conflicting vertices change
/// color move by move, counted in a table of neighbour colors per vertex. The budget
/// counts moves (a vertex colored by the exact search, or a tabu move) and wall time;
/// with a move budget alone the result is a function of the pattern, `start` and the
/// seed.
///
/// # Panics
/// When `start.len() != pattern.ncols()`.
///
/// ```
/// use jacsense::{Pattern, coloring::{SearchLimit, best_column_coloring, check_column_coloring, search_columns}};
/// // 5-point Laplacian on a 40 × 40 grid: greedy and recoloring need 6 colors, 5 is
/// // optimal (the lower bound: a row holds 5 columns).
/// let k = 40;
/// let rows: Vec<Vec<usize>> = (0..k * k).map(|r| {
///     let (a, b) = (r / k, r % k);
///     let mut row = vec![r];
///     if a > 0 { row.push(r - k); }
///     if a + 1 < k { row.push(r + k); }
///     if b > 0 { row.push(r - 1); }
///     if b + 1 < k { row.push(r + 1); }
///     row
/// }).collect();
/// let p = Pattern::from_rows(k * k, &rows)?;
/// let (_, start) = best_column_coloring(&p);
/// let out = search_columns(&p, &start, SearchLimit { moves: Some(100_000), time: None, seed: 0 });
/// assert_eq!((start.num_colors(), out.coloring.num_colors()), (6, 5));
/// assert!(out.optimal);
/// check_column_coloring(&p, &out.coloring)?;
/// # Ok::<(), jacsense::Error>(())
/// ```
pub fn search_columns(pattern: &Pattern, start: &Coloring, limit: SearchLimit) -> SearchOutcome {
    assert_eq!(start.len(), pattern.ncols(), "a column coloring has one color per column");
    let transpose = pattern.transpose();
    local_search(&Bipartite::new(pattern, &transpose), start, limit)
}

/// Exact search at the lower bound, then tabu search, on `g` from the valid `start`.
pub(crate) fn local_search(g: &Bipartite<'_>, start: &Coloring, limit: SearchLimit) -> SearchOutcome {
    let clock = Instant::now();
    let lower = g.nets.max_row_count().max(1);
    let n = g.num_vertices();
    let mut outcome = SearchOutcome {
        coloring: start.clone(),
        start_colors: start.num_colors(),
        moves: 0,
        elapsed: Duration::ZERO,
        optimal: start.num_colors() <= lower,
    };
    // A full net forces one color per vertex; 32-bit indices bound the graphs searched.
    if outcome.optimal || n < 2 || g.has_full_net() || n > u32::MAX as usize {
        outcome.elapsed = clock.elapsed();
        return outcome;
    }
    let adjacency = Adjacency::new(g);
    // A time too long to add to the clock is no limit.
    let deadline = limit.time.and_then(|t| clock.checked_add(t));
    let mut moves = 0;
    if lower <= 64 {
        // Half of each limit, what is left of it counted from now.
        let half = MoveBudget::new(
            limit.moves.map(|m| m.div_ceil(2)),
            deadline.map(|d| clock + d.saturating_duration_since(clock) / 2),
        );
        let mut budget = half;
        if let Some(colors) = exact(&adjacency, lower, &mut budget) {
            outcome.coloring = compact(colors);
        }
        moves = budget.moves;
    }
    let mut budget = MoveBudget::new(limit.moves.map(|m| m.saturating_sub(moves)), deadline);
    let mut rng = SplitMix64(limit.seed ^ 0x243f_6a88_85a3_08d3);
    while outcome.coloring.num_colors() > lower {
        match fewer_colors(&adjacency, &outcome.coloring, &mut rng, &mut budget) {
            Some(c) => outcome.coloring = c,
            None => break,
        }
    }
    outcome.moves = moves + budget.moves;
    outcome.optimal = outcome.coloring.num_colors() <= lower;
    outcome.elapsed = clock.elapsed();
    outcome
}

/// The distance-2 graph in CSR with 32-bit vertex indices.
struct Adjacency {
    start: Vec<usize>,
    neighbours: Vec<u32>,
}

impl Adjacency {
    fn new(g: &Bipartite<'_>) -> Self {
        let n = g.num_vertices();
        let mut start = Vec::with_capacity(n + 1);
        start.push(0);
        let mut neighbours = Vec::new();
        let mut d2 = Distance2::new(n);
        for v in 0..n {
            d2.for_each(g, v, |w| neighbours.push(w as u32));
            start.push(neighbours.len());
        }
        Adjacency { start, neighbours }
    }

    #[inline]
    fn of(&self, v: usize) -> &[u32] {
        &self.neighbours[self.start[v]..self.start[v + 1]]
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }
}

/// Moves left, and the deadline, read every [`CLOCK_EVERY`] moves.
#[derive(Clone, Copy)]
struct MoveBudget {
    left: u64,
    deadline: Option<Instant>,
    since_clock: u32,
    moves: u64,
}

/// Moves between reads of the clock.
const CLOCK_EVERY: u32 = 256;

impl MoveBudget {
    fn new(moves: Option<u64>, deadline: Option<Instant>) -> Self {
        MoveBudget { left: moves.unwrap_or(u64::MAX), deadline, since_clock: 0, moves: 0 }
    }

    /// Takes one move; `false` when the budget is spent.
    #[inline]
    fn take(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.since_clock += 1;
        if self.since_clock >= CLOCK_EVERY {
            self.since_clock = 0;
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                self.left = 0;
                return false;
            }
        }
        self.left -= 1;
        self.moves += 1;
        true
    }
}

/// Conflicting vertices evaluated per move when there are more.
const SAMPLE: usize = 64;

/// A valid coloring of `adjacency` with fewer colors than `from` (valid), or `None`
/// when the budget ran out first.
fn fewer_colors(
    adjacency: &Adjacency,
    from: &Coloring,
    rng: &mut SplitMix64,
    budget: &mut MoveBudget,
) -> Option<Coloring> {
    let n = adjacency.len();
    let k = from.num_colors() - 1;
    // Remove the smallest class (the highest such color).
    let mut sizes = vec![0usize; k + 1];
    for &c in from.colors() {
        sizes[c] += 1;
    }
    let removed = (0..=k).rev().min_by_key(|&c| sizes[c]).expect("at least two colors");
    const UNSET: usize = usize::MAX;
    let mut colors: Vec<usize> = from
        .colors()
        .iter()
        .map(|&c| match c.cmp(&removed) {
            std::cmp::Ordering::Less => c,
            std::cmp::Ordering::Equal => UNSET,
            std::cmp::Ordering::Greater => c - 1,
        })
        .collect();
    // Each vertex of the removed class to the color fewest of its neighbours have.
    let mut count = vec![0usize; k];
    for v in 0..n {
        if colors[v] != UNSET {
            continue;
        }
        count.iter_mut().for_each(|c| *c = 0);
        for &w in adjacency.of(v) {
            let c = colors[w as usize];
            if c != UNSET {
                count[c] += 1;
            }
        }
        let least = *count.iter().min().expect("k ≥ 1");
        let ties = count.iter().filter(|&&c| c == least).count();
        let pick = rng.below(ties);
        colors[v] = count.iter().enumerate().filter(|&(_, &c)| c == least).nth(pick).expect("pick < ties").0;
    }
    repair(adjacency, colors, k, rng, budget)
}

/// Tabu search from a `k`-coloring with conflicts to one without, or `None` when the
/// budget ran out first.
fn repair(
    adjacency: &Adjacency,
    colors: Vec<usize>,
    k: usize,
    rng: &mut SplitMix64,
    budget: &mut MoveBudget,
) -> Option<Coloring> {
    let n = adjacency.len();
    let mut state = Conflicts::new(adjacency, colors, k);
    let mut best_conflicts = state.edges;
    let mut tabu = vec![0u64; n * k];
    let mut iteration: u64 = 0;
    let mut candidates: Vec<u32> = Vec::with_capacity(SAMPLE);
    while state.edges > 0 {
        if !budget.take() {
            return None;
        }
        iteration += 1;
        candidates.clear();
        if state.conflicting.len() <= SAMPLE {
            candidates.extend_from_slice(&state.conflicting);
        } else {
            for _ in 0..SAMPLE {
                candidates.push(state.conflicting[rng.below(state.conflicting.len())]);
            }
        }
        // The best move: fewest conflicting edges after it, not tabu unless it beats
        // the best count of this attempt; ties at random (reservoir sampling).
        let mut best: Option<(usize, usize)> = None;
        let mut best_delta = i64::MAX;
        let mut ties = 0usize;
        for &v in &candidates {
            let v = v as usize;
            let own = state.colors[v];
            let row = &state.gamma[v * k..(v + 1) * k];
            let here = i64::from(row[own]);
            for (c, &g) in row.iter().enumerate() {
                if c == own {
                    continue;
                }
                let delta = i64::from(g) - here;
                if delta > best_delta {
                    continue;
                }
                let aspires = state.edges as i64 + delta < best_conflicts as i64;
                if tabu[v * k + c] > iteration && !aspires {
                    continue;
                }
                if delta < best_delta {
                    best_delta = delta;
                    ties = 1;
                    best = Some((v, c));
                } else {
                    ties += 1;
                    if rng.below(ties) == 0 {
                        best = Some((v, c));
                    }
                }
            }
        }
        let (v, c) = best.unwrap_or_else(|| {
            // Every move tabu: a random one keeps the search moving.
            let v = state.conflicting[rng.below(state.conflicting.len())] as usize;
            let c = (state.colors[v] + 1 + rng.below(k - 1)) % k;
            (v, c)
        });
        let old = state.colors[v];
        state.recolor(adjacency, v, c);
        let tenure = (0.6 * state.conflicting.len() as f64) as u64 + rng.below(10) as u64;
        tabu[v * k + old] = iteration + tenure + 1;
        best_conflicts = best_conflicts.min(state.edges);
    }
    Some(compact(state.colors))
}

/// Colors renumbered `0..` in order of first use, skipping empty classes.
fn compact(colors: Vec<usize>) -> Coloring {
    let k = colors.iter().max().map_or(0, |&c| c + 1);
    let mut used = vec![false; k];
    colors.iter().for_each(|&c| used[c] = true);
    let mut map = vec![0usize; k];
    let mut next = 0;
    for c in 0..k {
        if used[c] {
            map[c] = next;
            next += 1;
        }
    }
    Coloring::new(colors.into_iter().map(|c| map[c]).collect())
}

/// A (possibly conflicting) `k`-coloring with its conflict table.
struct Conflicts {
    colors: Vec<usize>,
    k: usize,
    /// `gamma[v·k + c]`: neighbours of `v` with color `c`.
    gamma: Vec<u32>,
    /// Vertices with a neighbour of their own color, and each one's position there.
    conflicting: Vec<u32>,
    position: Vec<u32>,
    /// Edges whose ends share a color.
    edges: u64,
}

const ABSENT: u32 = u32::MAX;

impl Conflicts {
    fn new(adjacency: &Adjacency, colors: Vec<usize>, k: usize) -> Self {
        let n = colors.len();
        let mut gamma = vec![0u32; n * k];
        let mut doubled = 0u64;
        for v in 0..n {
            for &w in adjacency.of(v) {
                gamma[v * k + colors[w as usize]] += 1;
            }
            doubled += u64::from(gamma[v * k + colors[v]]);
        }
        let mut state =
            Conflicts { colors, k, gamma, conflicting: Vec::new(), position: vec![ABSENT; n], edges: doubled / 2 };
        for v in 0..n {
            state.update_membership(v);
        }
        state
    }

    #[inline]
    fn update_membership(&mut self, v: usize) {
        let conflicted = self.gamma[v * self.k + self.colors[v]] > 0;
        let at = self.position[v];
        if conflicted && at == ABSENT {
            self.position[v] = self.conflicting.len() as u32;
            self.conflicting.push(v as u32);
        } else if !conflicted && at != ABSENT {
            let last = self.conflicting.pop().expect("v is in the list");
            if last as usize != v {
                self.conflicting[at as usize] = last;
                self.position[last as usize] = at;
            }
            self.position[v] = ABSENT;
        }
    }

    /// Moves `v` to color `c`.
    fn recolor(&mut self, adjacency: &Adjacency, v: usize, c: usize) {
        let k = self.k;
        let old = self.colors[v];
        self.edges = self.edges + u64::from(self.gamma[v * k + c]) - u64::from(self.gamma[v * k + old]);
        self.colors[v] = c;
        for &w in adjacency.of(v) {
            let w = w as usize;
            self.gamma[w * k + old] -= 1;
            self.gamma[w * k + c] += 1;
            let cw = self.colors[w];
            if cw == old || cw == c {
                self.update_membership(w);
            }
        }
        self.update_membership(v);
    }
}

/// Exact search for a `k`-coloring (`k ≤ 64`): DSATUR with chronological
/// backtracking (Brélaz 1979): the uncolored vertex with the fewest colors left goes
/// first (ties: the one whose count changed last, so the search follows its front),
/// with the smallest color left; a vertex with none undoes the last decision that has
/// a color untried. Within a budget of vertex colorings; `None` when it runs out or
/// the search space is exhausted (no `k`-coloring exists).
fn exact(adjacency: &Adjacency, k: usize, budget: &mut MoveBudget) -> Option<Vec<usize>> {
    debug_assert!((1..=64).contains(&k));
    let n = adjacency.len();
    const UNCOLORED: usize = usize::MAX;
    let all: u64 = if k == 64 { u64::MAX } else { (1u64 << k) - 1 };
    let mut search = Dsatur {
        colors: vec![UNCOLORED; n],
        count: vec![0u32; n * k],
        taken: vec![0u64; n],
        free: (0..n).map(|v| adjacency.of(v).len() as u32).collect(),
        width: (0..n).map(|v| adjacency.of(v).len()).max().unwrap_or(0) + 1,
        buckets: Vec::new(),
        top: 0,
        k,
    };
    search.buckets = vec![Vec::new(); (k + 1) * search.width];
    for v in (0..n).rev() {
        search.push(v);
    }
    // The decision stack: a vertex and the colors not yet tried for it.
    let mut stack: Vec<(u32, u64)> = Vec::with_capacity(n);
    loop {
        let Some(v) = search.next() else { return Some(search.colors) };
        let mut options = all & !search.taken[v];
        let mut vertex = v;
        // No color left: undo decisions until one has an untried color.
        while options == 0 {
            search.push(vertex);
            let (u, rest) = stack.pop()?;
            let u = u as usize;
            search.unassign(adjacency, u);
            vertex = u;
            options = rest;
        }
        if !budget.take() {
            return None;
        }
        let c = options.trailing_zeros() as usize;
        stack.push((vertex as u32, options & !(1 << c)));
        search.assign(adjacency, vertex, c);
    }
}

/// The state of [`exact`].
struct Dsatur {
    colors: Vec<usize>,
    count: Vec<u32>,
    taken: Vec<u64>,
    /// Uncolored neighbours of every vertex.
    free: Vec<u32>,
    /// One more than the largest degree: buckets per count of colors taken.
    width: usize,
    /// `buckets[s·width + f]`: vertices with `s` colors taken and `f` uncolored
    /// neighbours (stale entries are skipped when popped).
    buckets: Vec<Vec<u32>>,
    /// No bucket above this one holds an entry.
    top: usize,
    k: usize,
}

impl Dsatur {
    const UNCOLORED: usize = usize::MAX;

    #[inline]
    fn key(&self, v: usize) -> usize {
        self.taken[v].count_ones() as usize * self.width + self.free[v] as usize
    }

    #[inline]
    fn push(&mut self, v: usize) {
        let b = self.key(v);
        self.buckets[b].push(v as u32);
        self.top = self.top.max(b);
    }

    /// The uncolored vertex with most colors taken, then most uncolored neighbours,
    /// then last pushed.
    fn next(&mut self) -> Option<usize> {
        loop {
            while let Some(v) = self.buckets[self.top].pop() {
                let v = v as usize;
                if self.colors[v] == Self::UNCOLORED && self.key(v) == self.top {
                    return Some(v);
                }
            }
            if self.top == 0 {
                return None;
            }
            self.top -= 1;
        }
    }

    fn assign(&mut self, adjacency: &Adjacency, v: usize, c: usize) {
        let k = self.k;
        self.colors[v] = c;
        for &w in adjacency.of(v) {
            let w = w as usize;
            self.count[w * k + c] += 1;
            self.free[w] -= 1;
            if self.count[w * k + c] == 1 {
                self.taken[w] |= 1 << c;
            }
            if self.colors[w] == Self::UNCOLORED {
                self.push(w);
            }
        }
    }

    fn unassign(&mut self, adjacency: &Adjacency, v: usize) {
        let k = self.k;
        let c = self.colors[v];
        self.colors[v] = Self::UNCOLORED;
        for &w in adjacency.of(v) {
            let w = w as usize;
            self.count[w * k + c] -= 1;
            self.free[w] += 1;
            if self.count[w * k + c] == 0 {
                self.taken[w] &= !(1 << c);
            }
            if self.colors[w] == Self::UNCOLORED {
                self.push(w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coloring::{Ordering, check_column_coloring, color_columns};

    #[test]
    fn conflict_table_matches_a_recount_after_random_moves() {
        let rows: Vec<Vec<usize>> = (0..60).map(|i| vec![i % 40, (i * 7 + 3) % 40, (i * 11 + 5) % 40]).collect();
        let p = Pattern::from_rows(40, &rows).unwrap();
        let t = p.transpose();
        let g = Bipartite::new(&p, &t);
        let adjacency = Adjacency::new(&g);
        let k = 3;
        let mut rng = SplitMix64(7);
        let colors: Vec<usize> = (0..40).map(|_| rng.below(k)).collect();
        let mut state = Conflicts::new(&adjacency, colors, k);
        for _ in 0..500 {
            let v = rng.below(40);
            let c = rng.below(k);
            if c != state.colors[v] {
                state.recolor(&adjacency, v, c);
            }
            let fresh = Conflicts::new(&adjacency, state.colors.clone(), k);
            assert_eq!(state.gamma, fresh.gamma);
            assert_eq!(state.edges, fresh.edges);
            let mut a = state.conflicting.clone();
            let mut b = fresh.conflicting.clone();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn a_spent_budget_returns_the_start() {
        let p = Pattern::banded(30, 30, 2, 2);
        let start = Coloring::new((0..30).collect());
        let out = search_columns(&p, &start, SearchLimit { moves: Some(0), time: None, seed: 0 });
        // Removing a class of one vertex of 30 colors costs no move: it finds a free
        // color at once, so even a zero budget improves until a conflict appears.
        check_column_coloring(&p, &out.coloring).unwrap();
        assert!(out.coloring.num_colors() <= 30);
        assert_eq!(out.moves, 0);
        let greedy = color_columns(&p, Ordering::Natural);
        let out = search_columns(&p, &greedy, SearchLimit { moves: Some(0), time: None, seed: 0 });
        assert_eq!(out.coloring, greedy);
        assert!(out.optimal);
    }
}
