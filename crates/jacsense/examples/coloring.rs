//! Column coloring on model patterns: colors and time for every ordering, and for
//! `best_column_coloring` (every ordering, then iterated greedy recoloring); then star
//! coloring against column coloring on symmetric patterns.
//!
//! Run with `cargo run --release --example coloring` for both tables,
//! `cargo run --release --example coloring -- laplacian` for the 1000×1000 grid only, or
//! `cargo run --release --example coloring -- star` for the symmetric table only, or
//! `cargo run --release --example coloring -- search` for the local search after
//! recoloring (the planner's default budget with no call time known, and 5 s).
//! Times are wall-clock for `color_columns` (ordering included, transpose included) in
//! this process; "best + recolor" times the whole `best_column_coloring` call and
//! "from" is the ordering its recoloring started from; "valid" is `check_column_coloring` on the result.
//! In the symmetric table each cell is "colors · ms" for `color_star` (symmetry check,
//! ordering and direct recovery map included) or `color_columns`, and "valid" is
//! `check_star_coloring` on every star coloring.

use std::time::Instant;

use jacsense::ColoringSearch;
use jacsense::Pattern;
use jacsense::coloring::{
    Ordering, best_column_coloring, check_column_coloring, check_star_coloring, color_columns, color_star, lower_bound,
    search_columns,
};

/// 5-point Laplacian on a `k × k` grid: row (a, b) holds (a, b), (a ± 1, b), (a, b ± 1).
fn laplacian_2d(k: usize) -> Pattern {
    let id = |a: usize, b: usize| a * k + b;
    let rows: Vec<Vec<usize>> = (0..k * k)
        .map(|r| {
            let (a, b) = (r / k, r % k);
            let mut row = vec![id(a, b)];
            if a > 0 {
                row.push(id(a - 1, b));
            }
            if a + 1 < k {
                row.push(id(a + 1, b));
            }
            if b > 0 {
                row.push(id(a, b - 1));
            }
            if b + 1 < k {
                row.push(id(a, b + 1));
            }
            row
        })
        .collect();
    Pattern::from_rows(k * k, &rows).expect("grid indices are in range")
}

/// 7-point Laplacian on a `k × k × k` grid.
fn laplacian_3d(k: usize) -> Pattern {
    let id = |a: usize, b: usize, c: usize| (a * k + b) * k + c;
    let rows: Vec<Vec<usize>> = (0..k * k * k)
        .map(|r| {
            let (a, b, c) = (r / (k * k), (r / k) % k, r % k);
            let mut row = vec![id(a, b, c)];
            for (da, db, dc) in [(1, 0, 0), (0, 1, 0), (0, 0, 1)] {
                if a >= da && b >= db && c >= dc {
                    row.push(id(a - da, b - db, c - dc));
                }
                if a + da < k && b + db < k && c + dc < k {
                    row.push(id(a + da, b + db, c + dc));
                }
            }
            row
        })
        .collect();
    Pattern::from_rows(k * k * k, &rows).expect("grid indices are in range")
}

/// `m × n` with `per_row` entries per row in columns drawn by a 64-bit LCG (Knuth's
/// MMIX constants), so the pattern is the same on every machine.
fn random_pattern(m: usize, n: usize, per_row: usize, seed: u64) -> Pattern {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    let rows: Vec<Vec<usize>> = (0..m).map(|_| (0..per_row).map(|_| next()).collect()).collect();
    Pattern::from_rows(n, &rows).expect("columns are reduced modulo n")
}

/// Dense first row and first column plus the diagonal.
fn arrowhead(n: usize) -> Pattern {
    let mut rows = vec![(0..n).collect::<Vec<_>>()];
    rows.extend((1..n).map(|i| vec![0, i]));
    Pattern::from_rows(n, &rows).expect("indices are below n")
}

/// `n × n` structurally symmetric with the diagonal and, per row, 2 or 3 (alternately)
/// partners drawn by the same LCG, each entered with its mirror: about 6 nonzeros per
/// row.
fn random_symmetric(n: usize, seed: u64) -> Pattern {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    let mut entries = Vec::new();
    for i in 0..n {
        entries.push((i, i));
        for _ in 0..2 + i % 2 {
            let j = next();
            entries.extend([(i, j), (j, i)]);
        }
    }
    Pattern::from_triplets(n, n, &entries).expect("indices are below n")
}

fn main() {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("search") {
        search_table();
        return;
    }
    let only_laplacian = arg.as_deref().is_some_and(|a| a.starts_with("lap"));
    if arg.as_deref() != Some("star") {
        column_table(only_laplacian);
    }
    if !only_laplacian {
        star_table();
    }
}

/// Star colors against column colors on symmetric patterns, every ordering.
fn star_table() {
    let cases: Vec<(&str, Pattern)> = vec![
        ("arrowhead 1000", arrowhead(1000)),
        ("tridiagonal 100000", Pattern::banded(100_000, 100_000, 1, 1)),
        ("banded bw 3, 100000", Pattern::banded(100_000, 100_000, 3, 3)),
        ("laplacian 2D 100×100", laplacian_2d(100)),
        ("laplacian 2D 1000×1000", laplacian_2d(1000)),
        ("laplacian 3D 20³", laplacian_3d(20)),
        ("random symmetric 100000", random_symmetric(100_000, 7)),
    ];
    println!();
    println!("symmetric patterns: star colors vs column colors, ms");
    println!();
    print!("| pattern | n | nnz | coloring |");
    for o in Ordering::ALL {
        print!(" {o} |");
    }
    println!(" valid |");
    print!("|---|---:|---:|---|");
    for _ in Ordering::ALL {
        print!("---:|");
    }
    println!("---|");
    for (name, p) in &cases {
        let mut valid = true;
        print!("| {name} | {} | {} | star |", p.ncols(), p.nnz());
        for o in Ordering::ALL {
            let start = Instant::now();
            let star = color_star(p, o).expect("the pattern is symmetric");
            let ms = start.elapsed().as_secs_f64() * 1e3;
            valid &= check_star_coloring(p, star.coloring()).is_ok();
            print!(" {} · {ms:.1} |", star.num_colors());
        }
        println!(" {} |", if valid { "yes" } else { "NO" });
        print!("| | | | column |");
        for o in Ordering::ALL {
            let start = Instant::now();
            let c = color_columns(p, o);
            let ms = start.elapsed().as_secs_f64() * 1e3;
            print!(" {} · {ms:.1} |", c.num_colors());
        }
        println!(" |");
    }
}

/// Column colorings of model patterns, every ordering and the best with recoloring.
fn column_table(only_laplacian: bool) {
    let mut cases: Vec<(&str, Pattern)> = vec![("laplacian 2D 1000×1000", laplacian_2d(1000))];
    if !only_laplacian {
        cases.extend([
            ("tridiagonal", Pattern::banded(100_000, 100_000, 1, 1)),
            ("laplacian 3D 50³", laplacian_3d(50)),
            ("random 2/row 2000×2000", random_pattern(2000, 2000, 2, 42)),
            ("arrowhead", arrowhead(1000)),
            ("block diagonal 1000 × (10×10)", Pattern::block_diagonal(&[(10, 10); 1000])),
        ]);
    }

    print!("| pattern | n | nnz | ρ_max |");
    for o in Ordering::ALL {
        print!(" {o} colors | ms |");
    }
    println!(" best + recolor colors | from | ms | valid |");
    print!("|---|---:|---:|---:|");
    for _ in Ordering::ALL {
        print!("---:|---:|");
    }
    println!("---:|---|---:|---|");

    for (name, p) in &cases {
        print!("| {name} | {} | {} | {} |", p.ncols(), p.nnz(), lower_bound(p));
        let mut valid = true;
        for o in Ordering::ALL {
            let start = Instant::now();
            let c = color_columns(p, o);
            let ms = start.elapsed().as_secs_f64() * 1e3;
            valid &= check_column_coloring(p, &c).is_ok();
            print!(" {} | {ms:.1} |", c.num_colors());
        }
        let start = Instant::now();
        let (from, c) = best_column_coloring(p);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        valid &= check_column_coloring(p, &c).is_ok();
        print!(" {} | {from} | {ms:.1} |", c.num_colors());
        println!(" {} |", if valid { "yes" } else { "NO" });
    }
}

/// The local search after `best_column_coloring`: the planner's default budget when no
/// call time is known ([`ColoringSearch::Auto`], `100000 + 2n` moves), then 5 s of
/// wall time where that did not reach the lower bound.
fn search_table() {
    let cases: Vec<(&str, Pattern)> = vec![
        ("laplacian 2D 100×100", laplacian_2d(100)),
        ("laplacian 2D 1000×1000", laplacian_2d(1000)),
        ("laplacian 3D 20³", laplacian_3d(20)),
        ("laplacian 3D 50³", laplacian_3d(50)),
        ("banded bw 5, 5000", Pattern::banded(5000, 5000, 5, 5)),
        ("random 5/row 2000×2000", random_pattern(2000, 2000, 5, 42)),
        ("random 2/row 20000×2000", random_pattern(20000, 2000, 2, 42)),
    ];
    println!(
        "| pattern | n | ρ_max | best + recolor colors | ms | budget | search colors | moves | search ms | total ms | optimal | valid |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|");
    for (name, p) in &cases {
        let start = Instant::now();
        let (_, c) = best_column_coloring(p);
        let recolor_ms = start.elapsed().as_secs_f64() * 1e3;
        let budgets = [("auto (moves)", ColoringSearch::Auto), ("5 s", ColoringSearch::Seconds(5.0))];
        for (label, budget) in budgets {
            let limit = budget.limit(p.ncols(), c.num_colors(), lower_bound(p), None, 0).expect("a search budget");
            let out = search_columns(p, &c, limit);
            let ms = out.elapsed.as_secs_f64() * 1e3;
            let valid = check_column_coloring(p, &out.coloring).is_ok();
            println!(
                "| {name} | {} | {} | {} | {recolor_ms:.1} | {label} | {} | {} | {ms:.1} | {:.1} | {} | {} |",
                p.ncols(),
                lower_bound(p),
                c.num_colors(),
                out.coloring.num_colors(),
                out.moves,
                recolor_ms + ms,
                if out.optimal { "yes" } else { "no" },
                if valid { "yes" } else { "NO" },
            );
            if out.optimal || c.num_colors() <= lower_bound(p) {
                break;
            }
        }
    }
}
