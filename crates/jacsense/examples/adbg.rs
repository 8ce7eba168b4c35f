use jacsense::jacobian;
use jacsense_problems::{Bratu2d, BroydenTridiagonal, Problem, relative_error};
fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let p: Box<dyn Problem> = if which == "bratu" {
        Box::new(Bratu2d { grid: 100, lambda: 6.0 })
    } else {
        Box::new(BroydenTridiagonal { n: 1000 })
    };
    let x0 = p.x0();
    let t = std::time::Instant::now();
    let est = jacobian(p.as_ref(), &x0).unwrap();
    for r in &est.diagnostics().rounds {
        println!("{} {} | {}", r.calls, r.why, r.showed);
    }
    println!(
        "err {:e} calls {} time {:.2}",
        relative_error(est.jacobian(), &p.jacobian(&x0)),
        est.diagnostics().calls,
        t.elapsed().as_secs_f64()
    );
}
