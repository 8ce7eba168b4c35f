//! The status of an estimate: solved only when every row is determined, converged,
//! well conditioned and checked by redundant calls; otherwise it says which rows and
//! why (DESIGN.md §9).

use jacsense::Coupling;
use jacsense::decode::{L1Reference, LeastAbsoluteDeviations};
use jacsense::{
    Bounds, DecoderChoice, Design, Error, Pattern, Plan, PlanOptions, RandomDistribution, RowStatus, Scheme, Settings,
    SolverLimit, Status, Structure, jacobian_with,
};
use jacsense_problems::{BroydenTridiagonal, Corrupted, LinearMap, Problem, random_matrix, random_pattern};

use super::rel_err;

/// The case: garbage calls on a read-off design returned relative error 1e4 with
/// `complete: true` and nothing else to go by. The estimate is still complete (every
/// row has values) but its status is unverified, never solved.
#[test]
fn garbage_calls_on_a_read_off_design_are_unverified_not_solved() {
    let p = BroydenTridiagonal { n: 200 };
    let structure = Structure::sparse(p.pattern());
    let x0 = p.x0();
    let truth = p.jacobian(&x0);
    let spoiled = |f: &Corrupted<BroydenTridiagonal>, plan: &Plan| {
        plan.points().iter().filter(|x| f.corruption(x).is_some()).count()
    };
    for design in [Design::Coordinate, Design::Colored { ordering: None }, Design::Auto] {
        let settings = Settings { design: design.clone(), ..Settings::default() };
        // A fraction of the calls garbage, at least one of this plan's.
        let plan = Plan::new(&structure, &x0, &settings).unwrap();
        let garbage = (0..)
            .map(|seed| Corrupted { inner: p.clone(), fraction: 0.3, seed, anchor: x0.clone(), scale: 1.0 })
            .find(|f| spoiled(f, &plan) > 0)
            .unwrap();
        let est = jacobian_with(&garbage, &x0, &structure, &settings).unwrap();
        assert!(rel_err(est.jacobian(), &truth) > 1.0, "{design:?}: the garbage went into J");
        assert!(est.is_complete(), "{design:?}: every row has values");
        let status = est.status();
        assert_eq!(status, Status::Unverified { rows: (0..200).collect() }, "{design:?}");
        assert!(!status.is_solved());
        assert!(est.diagnostics().rows.iter().all(|r| r.status == RowStatus::Unverified && r.dof == 0));
        // Clean calls on the same design: right, and still unverified (nothing checked them).
        let est = jacobian_with(&p, &x0, &structure, &settings).unwrap();
        assert!(rel_err(est.jacobian(), &truth) < 1e-6);
        assert_eq!(est.status().name(), "unverified", "{design:?}");
    }
    // Told to expect the garbage, the planner buys redundancy: L1 finds the wrong calls
    // and every row is checked by the calls it kept.
    let robust = Settings { outliers: 0.3, ..Settings::default() };
    let garbage = Corrupted { inner: p.clone(), fraction: 0.3, seed: 11, anchor: x0.clone(), scale: 1.0 };
    assert!(spoiled(&garbage, &Plan::new(&structure, &x0, &robust).unwrap()) > 0);
    let est = jacobian_with(&garbage, &x0, &structure, &robust).unwrap();
    assert!(rel_err(est.jacobian(), &truth) < 1e-6);
    assert!(!est.diagnostics().outliers.is_empty());
    assert_eq!(est.status(), Status::Solved);
    assert!(est.diagnostics().rows.iter().all(|r| r.status == RowStatus::Determined && r.dof > 0));
}

#[test]
fn redundant_designs_are_solved_and_exactly_determined_ones_unverified() {
    let a = random_matrix(random_pattern(100, 100, 5, 3), 4);
    let f = LinearMap { a: a.clone() };
    let structure = Structure::sparse(a.pattern().clone());
    let random = |k| Settings {
        design: Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(k) },
        ..Settings::default()
    };
    // ρ_max = 5: with 5 directions every full row is exactly determined (no room for the
    // offset either): unverified, or ill-conditioned when its square system is (that
    // outranks unverified); with 9 every row has residual degrees of freedom.
    let est = jacobian_with(&f, &f.x0(), &structure, &random(5)).unwrap();
    assert!(est.is_complete());
    assert!(!est.status().is_solved());
    let full: Vec<usize> = (0..100).filter(|&i| a.pattern().row_count(i) == 5).collect();
    assert!(!full.is_empty());
    for &i in &full {
        let r = &est.diagnostics().rows[i];
        assert_eq!(r.dof, 0, "row {i}");
        match r.status {
            RowStatus::Unverified => assert!(r.condition * 2.0 * f64::EPSILON.sqrt() <= 1e-4 || r.condition <= 100.0),
            RowStatus::IllConditioned { condition, .. } => assert!(condition > 100.0 && condition == r.condition),
            _ => panic!("row {i}: {r:?}"),
        }
    }
    let est = jacobian_with(&f, &f.x0(), &structure, &random(9)).unwrap();
    assert_eq!(est.status(), Status::Solved);
    assert!(rel_err(est.jacobian(), &a) < 1e-6);
}

/// A row whose system has κ ≈ 1e13: input 0 sits in a box so tight that its central
/// step shrinks to 1e-13 of the planned one. The rank tolerance still counts the row as
/// full rank (it used to be reported determined, and the CLI exited 0); the status says
/// what κ costs.
#[test]
fn a_nearly_singular_row_is_ill_conditioned() {
    let f = LinearMap { a: random_matrix(Pattern::dense(3, 4), 5) };
    let structure = Structure::dense(3, 4);
    let x0 = vec![0.0; 4];
    let design = Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(12) };
    let settings = Settings { design, difference: jacsense::Difference::Central, ..Settings::default() };
    let scheme = Scheme::new(&structure, &settings).unwrap();
    let h = scheme.at(&x0).unwrap().steps()[0];
    let room = 1e-13 * h;
    let bounds = Bounds::new(vec![-room, -1.0, -1.0, -1.0], vec![room, 1.0, 1.0, 1.0]).unwrap();
    let plan = scheme.at_with(&x0, &PlanOptions { bounds: Some(bounds), ..PlanOptions::default() }).unwrap();
    let est = plan.evaluate(&f).unwrap().decode();
    assert!(est.is_complete(), "the rank tolerance accepts the row: {:?}", est.diagnostics().rows[0]);
    for r in &est.diagnostics().rows {
        let RowStatus::IllConditioned { condition, predicted_error } = r.status else { panic!("{r:?}") };
        assert!(condition > 1e11 && condition == r.condition, "κ = {condition:e}");
        // κ times the central-difference error of the default step, 2ε^(2/3).
        let e = 2.0 * f64::EPSILON.powf(2.0 / 3.0);
        assert!((predicted_error / (condition * e) - 1.0).abs() < 1e-6, "{predicted_error:e}");
    }
    let Status::IllConditioned { rows, condition, predicted_error } = est.status() else {
        panic!("{:?}", est.status())
    };
    assert_eq!(rows, vec![0, 1, 2]);
    assert!(condition > 1e11 && predicted_error > 1e3);
    // The tolerance is the user's: accepting any error, the rows are solved.
    let lenient = Settings { condition_tolerance: f64::INFINITY, ..plan.settings().clone() };
    let scheme = Scheme::new(&structure, &lenient).unwrap();
    let plan = scheme.at_with(&x0, &PlanOptions { bounds: plan.bounds().cloned(), ..PlanOptions::default() }).unwrap();
    assert_eq!(plan.evaluate(&f).unwrap().decode().status(), Status::Solved);
    // Without the box the same design is well conditioned.
    assert_eq!(jacobian_with(&f, &x0, &structure, plan.settings()).unwrap().status(), Status::Solved);
    // And the tolerance is validated.
    for bad in [0.0, -1.0, f64::NAN] {
        let e = Scheme::new(&structure, &Settings { condition_tolerance: bad, ..Settings::default() }).unwrap_err();
        assert!(matches!(e, Error::InvalidSetting { name: "condition_tolerance", .. }), "{e}");
    }
}

/// The simplex's pivot limit and Clarabel's iteration limit are reported, never taken
/// for an optimum.
#[test]
fn l1_decodes_stopped_at_a_limit_say_so() {
    let p = LinearMap { a: random_matrix(random_pattern(60, 60, 6, 21), 22) };
    let structure = Structure::sparse(p.pattern());
    let x0 = p.x0();
    let plan = Plan::new(&structure, &x0, &Settings { outliers: 0.2, ..Settings::default() }).unwrap();
    let garbage = Corrupted { inner: p.clone(), fraction: 0.2, seed: 5, anchor: x0.clone(), scale: 1.0 };
    let meas = plan.evaluate(&garbage).unwrap();
    // The plan's own L1 decoder reaches its optimum on every row.
    let est = meas.decode();
    assert_eq!(est.status(), Status::Solved);
    assert!(rel_err(est.jacobian(), &p.a) < 1e-6);

    let one_pivot = LeastAbsoluteDeviations { max_pivots: Some(1), ..LeastAbsoluteDeviations::default() };
    let est = meas.decode_with(&one_pivot).unwrap();
    let limited: Vec<usize> =
        (0..60).filter(|&i| est.diagnostics().rows[i].status == RowStatus::SolverLimit(SolverLimit::Pivots)).collect();
    assert!(limited.len() > 30, "most rows need more than one pivot: {limited:?}");
    assert!(est.is_complete(), "a row stopped at the limit still has values");
    assert_eq!(est.status(), Status::SolverLimit { rows: limited, limit: SolverLimit::Pivots });
    assert_eq!(est.status().name(), "solver-limit");

    let two_iterations = L1Reference { max_iterations: 2, ..L1Reference::default() };
    let est = meas.decode_with(&two_iterations).unwrap();
    assert!(
        matches!(est.status(), Status::SolverLimit { limit: SolverLimit::Iterations, ref rows } if rows.len() == 60)
    );
    let est = meas.decode_with(&L1Reference::default()).unwrap();
    assert_eq!(est.status(), Status::Solved);
}

/// The precedence of the overall status: an undetermined row outranks everything.
#[test]
fn incomplete_outranks_the_other_statuses() {
    let p = BroydenTridiagonal { n: 20 };
    let structure = Structure::sparse(p.pattern());
    let plan = Plan::new(&structure, &p.x0(), &Settings::default()).unwrap();
    let mut meas = plan.evaluate(&p).unwrap();
    meas.erase(1, jacsense::ErasureReason::Failed("simulated".into())).unwrap();
    let est = meas.decode();
    let Status::Incomplete { rows } = est.status() else { panic!("{:?}", est.status()) };
    assert_eq!(rows, est.undetermined_rows());
    // The other rows keep their own status: unverified (read off).
    assert!((0..20).filter(|i| !rows.contains(i)).all(|i| est.diagnostics().rows[i].status == RowStatus::Unverified));
}

/// Expecting outliers with a design that cannot find them is an error naming the calls
/// the planner's rule needs, not a plan that quietly decodes by least squares.
#[test]
fn outliers_with_too_little_redundancy_are_an_error_naming_the_calls_needed() {
    let s = Structure::sparse(random_pattern(300, 300, 6, 4));
    let x0 = vec![0.5; 300];
    // ρ_max = 6 at 10%: ⌈6 · 1.2 / 0.3⌉ + 2 = 26 directions, 27 calls.
    for design in [Design::Colored { ordering: None }, Design::Coordinate] {
        let settings = Settings { design: design.clone(), outliers: 0.1, ..Settings::default() };
        let e = Plan::new(&s, &x0, &settings).unwrap_err();
        let Error::TooLittleRedundancy { needed, outliers, .. } = e else { panic!("{design:?}: {e}") };
        assert_eq!((needed, outliers), (27, 0.1));
        assert!(e.to_string().contains("needs at least 27 calls"), "{e}");
    }
    let few = Design::Random { distribution: RandomDistribution::Gaussian, directions: Some(20) };
    let e = Plan::new(&s, &x0, &Settings { design: few, outliers: 0.1, ..Settings::default() }).unwrap_err();
    assert_eq!(e, Error::TooLittleRedundancy { design: "random-gaussian", calls: 21, needed: 27, outliers: 0.1 });
    // Central differences spoil a measurement when either call is wrong: 19% of them.
    let central = Settings {
        design: Design::Colored { ordering: None },
        outliers: 0.1,
        difference: jacsense::Difference::Central,
        ..Settings::default()
    };
    // ⌈6 · 1.2 / 0.21⌉ + 2 = 37 directions, two calls each.
    let Error::TooLittleRedundancy { needed, .. } = Plan::new(&s, &x0, &central).unwrap_err() else { panic!() };
    assert_eq!(needed, 74);
    // Enough directions, or none given (the robust rule fills them in), plan by L1.
    let enough = Design::Rainbow { ordering: None, directions: Some(26) };
    let plan = Plan::new(&s, &x0, &Settings { design: enough, outliers: 0.1, ..Settings::default() }).unwrap();
    assert_eq!(plan.settings().decoder, DecoderChoice::L1);
    let unsized_random = Design::Random { distribution: RandomDistribution::Gaussian, directions: None };
    let plan = Plan::new(&s, &x0, &Settings { design: unsized_random, outliers: 0.1, ..Settings::default() }).unwrap();
    assert_eq!((plan.measurements(), plan.settings().decoder), (26, DecoderChoice::L1));
    // The planner's own design is never refused for redundancy.
    assert_eq!(Plan::new(&s, &x0, &Settings { outliers: 0.1, ..Settings::default() }).unwrap().calls(), 27);

    // Coupled structures: the joint rule.
    let coupled =
        Structure::symmetric(jacsense_problems::laplacian_2d(6)).unwrap().with_coupling(Coupling::default()).unwrap();
    let x0 = vec![0.5; 36];
    let colored = Settings { design: Design::Coordinate, outliers: 0.1, ..Settings::default() };
    let e = Plan::new(&coupled, &x0, &colored).unwrap_err();
    let Error::TooLittleRedundancy { needed, .. } = e else { panic!("{e}") };
    let auto = Plan::new(&coupled, &x0, &Settings { outliers: 0.1, ..Settings::default() }).unwrap();
    assert_eq!(needed, auto.calls(), "the calls the planner itself would make");
}
