//! `jacsense-rapier-worker`: a scene of jacsense-rapier as a worker of the `jacsense`
//! command (README, "The protocol"): each line on stdin holds `[x; u]` (numbers
//! separated by whitespace or commas, or a JSON array), each answer on stdout is `x'`
//! on one line. Messages go to stderr; a call that fails answers `nan` values, which
//! the command treats as an erasure.
//!
//! ```sh
//! jacsense-rapier-worker pendulums --count 20 --x0 > x0.txt          # [x0; u0]
//! jacsense-rapier-worker pendulums --count 20 --pattern pattern.mtx  # derived pattern
//! jacsense estimate --x0 @x0.txt --pattern pattern.mtx -o J.mtx -- jacsense-rapier-worker pendulums --count 20
//! ```
//!
//! Scenes: `arm`, `pendulums` (`--count N`, default 20), `boxes` (`--count N`, default
//! 4; `--settle S` steps first, default 30). `--steps N`: steps per call (default 1).

use std::io::{BufRead, Write};
use std::process::ExitCode;

use jacsense_rapier::{Dynamics, scenes};

const USAGE: &str = "usage: jacsense-rapier-worker arm|pendulums|boxes [--count N] [--steps N] [--settle S] [--x0 | --pattern FILE.mtx]";

fn parse(args: &[String]) -> Result<(Dynamics, Option<String>), String> {
    let scene = args.first().ok_or(USAGE)?;
    let mut count = None;
    let (mut steps, mut settle) = (1usize, 30usize);
    let mut action = None;
    let mut i = 1;
    while i < args.len() {
        let value = || args.get(i + 1).ok_or_else(|| format!("{} needs a value\n{USAGE}", args[i]));
        let number = |v: &String| v.parse::<usize>().map_err(|_| format!("{}: not a count: {v}\n{USAGE}", args[i]));
        match args[i].as_str() {
            "--count" => count = Some(number(value()?)?),
            "--steps" => steps = number(value()?)?,
            "--settle" => settle = number(value()?)?,
            "--x0" => {
                action = Some("x0".to_string());
                i -= 1;
            }
            "--pattern" => action = Some(format!("pattern:{}", value()?)),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
        i += 2;
    }
    let d = match scene.as_str() {
        "arm" => scenes::arm(),
        "pendulums" => scenes::double_pendulums(count.unwrap_or(20)),
        "boxes" => scenes::boxes(count.unwrap_or(4)).and_then(|mut d| {
            for _ in 0..settle {
                d.advance(&d.u0())?;
            }
            Ok(d)
        }),
        other => return Err(format!("unknown scene {other}\n{USAGE}")),
    }
    .and_then(|d| d.with_steps(steps))
    .map_err(|e| e.to_string())?;
    Ok((d, action))
}

fn numbers(line: &str) -> Result<Vec<f64>, String> {
    line.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<f64>().map_err(|_| format!("not a number: {t}")))
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (d, action) = match parse(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match action.as_deref() {
        Some("x0") => {
            let p: Vec<String> = d.point().iter().map(|v| format!("{v:?}")).collect();
            return match writeln!(out, "{}", p.join(" ")) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            };
        }
        Some(p) if p.starts_with("pattern:") => {
            let path = &p["pattern:".len()..];
            let written = d.pattern().map_err(|e| e.to_string()).and_then(|pattern| {
                let file = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
                jacsense::write_matrix_market(std::io::BufWriter::new(file), &pattern, None).map_err(|e| e.to_string())
            });
            return match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let (nx, n) = (d.nx(), d.nx() + d.nu());
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let answer = numbers(&line).and_then(|z| {
            if z.len() != n {
                return Err(format!("a call has {} numbers, expected {n} (nx = {nx}, nu = {})", z.len(), d.nu()));
            }
            d.step(&z[..nx], &z[nx..]).map_err(|e| e.to_string())
        });
        let text = match answer {
            Ok(y) => y.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(" "),
            Err(e) => {
                eprintln!("{e}");
                vec!["nan"; nx].join(" ")
            }
        };
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}
