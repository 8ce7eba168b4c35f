//! Integration tests of jacsense-rapier, in one binary: the derived structure against
//! the pattern measured by dense differences, the tangent-space charts, tracking.

use jacsense::{Design, Difference, Settings, Structure, jacobian_with};
use jacsense_rapier::{Dynamics, Quantity, scenes};
use rapier3d_f64::prelude::*;

/// `J = [A B]` by central coordinate differences (dense, nothing assumed).
fn measured(d: &Dynamics) -> faer::Mat<f64> {
    let settings = Settings { design: Design::Coordinate, difference: Difference::Central, ..Settings::default() };
    let (n, m) = (d.nx() + d.nu(), d.nx());
    jacobian_with(d, &d.point(), &Structure::dense(m, n), &settings).unwrap().dense()
}

/// Every entry the differences see is inside the derived pattern, and the relation rows
/// hold: `J[q_i] = dt·J[v_i] + e_i`.
fn check_derivation(d: &Dynamics, expected_groups: usize) {
    let j = measured(d);
    let scale = (0..j.nrows())
        .flat_map(|r| (0..j.ncols()).map(move |c| (r, c)))
        .map(|(r, c)| j[(r, c)].abs())
        .fold(0.0, f64::max);
    // Central differences at ∛ε: about 1e-10 of the largest entry; a true nonzero outside
    // the pattern would be many orders above that.
    let tol = 1e-7 * scale;
    let pattern = d.pattern().unwrap();
    let mut outside = Vec::new();
    for r in 0..j.nrows() {
        for c in 0..j.ncols() {
            if j[(r, c)].abs() > tol && !pattern.contains(r, c) {
                outside.push((r, c, j[(r, c)]));
            }
        }
    }
    assert!(
        outside.is_empty(),
        "measured nonzeros outside the derived pattern: {:?}",
        &outside[..outside.len().min(10)]
    );
    let (_, groups) = d.groups();
    assert_eq!(groups, expected_groups);
    let relations = d.relations();
    assert_eq!(relations.is_empty(), d.steps() > 1);
    for rel in &relations {
        let [(v, dt)] = rel.combination[..] else { panic!("one combination term") };
        for c in 0..j.ncols() {
            let known = rel.constant.iter().filter(|&&(k, _)| k == c).map(|&(_, x)| x).sum::<f64>();
            let predicted = dt * j[(v, c)] + known;
            assert!(
                (j[(rel.row, c)] - predicted).abs() <= tol,
                "relation row {} column {c}: measured {} predicted {predicted}",
                rel.row,
                j[(rel.row, c)]
            );
        }
    }
}

#[test]
fn pendulums_structure_matches_measured_pattern() {
    let d = scenes::double_pendulums(4).unwrap();
    check_derivation(&d, 4);
    // Block-diagonal: each of the 16 rows sees its pendulum's 4 states and 2 torques.
    assert_eq!(d.pattern().unwrap().nnz(), 16 * 6);
    // Velocity rows are the unknowns: 8 rows × 6.
    assert_eq!(d.structure().unwrap().intrinsic_dimension(), 8 * 6);
}

#[test]
fn arm_structure_matches_measured_pattern() {
    let d = scenes::arm().unwrap();
    check_derivation(&d, 1);
    assert_eq!(d.relations().len(), 7);
    // One group (a kinematic chain): the 7 velocity rows are the unknowns, 21 each.
    assert_eq!(d.structure().unwrap().intrinsic_dimension(), 7 * 21);
}

#[test]
fn boxes_structure_matches_measured_pattern() {
    let mut d = scenes::boxes(3).unwrap();
    // Land the boxes first: contact with the ground (fixed) links nothing.
    for _ in 0..20 {
        d.advance(&d.u0()).unwrap();
    }
    check_derivation(&d, 3);
    // Center-of-mass rows are relations, rotation-vector rows are not.
    let rel_rows: Vec<usize> = d.relations().iter().map(|r| r.row).collect();
    for (i, e) in d.entries().iter().enumerate() {
        assert_eq!(rel_rows.contains(&i), e.quantity == Quantity::CenterOfMass, "entry {i}: {e:?}");
    }
}

#[test]
fn boxes_in_contact_share_a_group() {
    // Two boxes resting against each other: one group; a third far away: its own.
    let mut world = PhysicsWorld::new();
    world.integration_parameters = scenes::integration_parameters(1.0 / 60.0);
    let ground = world.bodies.insert(RigidBodyBuilder::fixed());
    world.colliders.insert_with_parent(
        ColliderBuilder::cuboid(50.0, 0.5, 50.0).translation(Vector::new(0.0, -0.5, 0.0)),
        ground,
        &mut world.bodies,
    );
    let mut controls = Vec::new();
    for x in [0.0, 0.4, 5.0] {
        let b = world.bodies.insert(RigidBodyBuilder::dynamic().translation(Vector::new(x, 0.2, 0.0)));
        world.colliders.insert_with_parent(ColliderBuilder::cuboid(0.2, 0.2, 0.2), b, &mut world.bodies);
        controls.push(jacsense_rapier::Control::Force { body: b, direction: Vector::X });
    }
    let d = Dynamics::new(world, controls).unwrap();
    check_derivation(&d, 2);
    let (group, _) = d.groups();
    assert_eq!(group[0], group[6]);
    assert_ne!(group[0], group[12]);
}

#[test]
fn boxes_that_will_collide_within_the_steps_share_a_group() {
    // Box 0 slides at 3 m/s towards box 1, 0.1 m away: they touch within 5 steps of
    // 1/60 s, not within 1; box 2 is far away.
    let mut world = PhysicsWorld::new();
    world.integration_parameters = scenes::integration_parameters(1.0 / 60.0);
    let ground = world.bodies.insert(RigidBodyBuilder::fixed());
    world.colliders.insert_with_parent(
        ColliderBuilder::cuboid(50.0, 0.5, 50.0).translation(Vector::new(0.0, -0.5, 0.0)),
        ground,
        &mut world.bodies,
    );
    let mut controls = Vec::new();
    for (x, v) in [(0.0, 3.0), (0.5, 0.0), (5.0, 0.0)] {
        let b = world
            .bodies
            .insert(RigidBodyBuilder::dynamic().translation(Vector::new(x, 0.2, 0.0)).linvel(Vector::new(v, 0.0, 0.0)));
        world.colliders.insert_with_parent(ColliderBuilder::cuboid(0.2, 0.2, 0.2).friction(0.0), b, &mut world.bodies);
        controls.push(jacsense_rapier::Control::Force { body: b, direction: Vector::X });
    }
    let one = Dynamics::new(world, controls).unwrap();
    assert_eq!(one.groups().1, 3);
    check_derivation(&one, 3);
    let five = one.with_steps(5).unwrap();
    check_derivation(&five, 2);
    // And the differences do see the coupling: box 1's velocity depends on box 0's.
    let j = measured(&five);
    let nq = five.dofs();
    assert!(j[(nq + 6, nq)].abs() > 0.1, "∂v1x/∂v0x = {}", j[(nq + 6, nq)]);
}

#[test]
fn tangent_space_round_trip() {
    let d = scenes::boxes(2).unwrap();
    let mut x = d.x0();
    // A rotation of 0.3 rad about a skew axis on box 0, 1e-7 rad on box 1.
    let theta0 = Vector::new(0.1, -0.2, 0.2);
    let theta1 = Vector::new(1e-7, 0.0, -2e-7);
    x[3..6].copy_from_slice(&[theta0.x, theta0.y, theta0.z]);
    x[9..12].copy_from_slice(&[theta1.x, theta1.y, theta1.z]);
    let back = d.round_trip(&x).unwrap();
    for (i, (a, b)) in x.iter().zip(&back).enumerate() {
        assert!((a - b).abs() <= 64.0 * f64::EPSILON * a.abs().max(1.0), "entry {i}: {a} → {b}");
    }
    // The pose is exp(θ) R_ref: the body turned by 0.3 rad about θ's axis, its center of
    // mass where x says.
    let before = d.poses(&d.x0()).unwrap();
    let after = d.poses(&x).unwrap();
    let relative = after[0].1.rotation * before[0].1.rotation.inverse();
    let (axis, angle) = relative.to_axis_angle();
    assert!((angle - theta0.length()).abs() < 1e-12);
    assert!((axis - theta0.normalize()).length() < 1e-12);
    assert!((after[0].1.translation - before[0].1.translation).length() < 1e-12); // com at the frame origin
    // x' comes back through the same chart: a box spinning at ω about Y turns by about
    // dt·ω in one step, and θ' says so.
    let mut x = d.x0();
    let nq = d.dofs();
    x[nq + 3..nq + 6].copy_from_slice(&[0.0, 2.0, 0.0]);
    let x1 = d.step(&x, &d.u0()).unwrap();
    let dt = d.dt();
    assert!((x1[4] - dt * x1[nq + 4]).abs() < 1e-3 * dt * 2.0, "θ'_y = {} vs dt·ω'_y = {}", x1[4], dt * x1[nq + 4]);
    let poses = d.poses_after(&x, &d.u0()).unwrap();
    let turned = poses[0].1.rotation * before[0].1.rotation.inverse();
    let expected = [x1[3], x1[4], x1[5]];
    let got = turned.to_scaled_axis();
    for k in 0..3 {
        assert!((got[k] - expected[k]).abs() < 1e-12, "{got:?} vs {expected:?}");
    }
}

#[test]
fn calls_are_pure_functions_of_the_input() {
    let d = scenes::boxes(2).unwrap();
    let p = d.point();
    let (x, u) = p.split_at(d.nx());
    let a = d.step(x, u).unwrap();
    let mut perturbed = x.to_vec();
    perturbed[1] += 0.01;
    let _ = d.step(&perturbed, u).unwrap();
    let b = d.step(x, u).unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_inputs_are_errors() {
    let d = scenes::double_pendulums(1).unwrap();
    assert!(d.step(&[0.0; 3], &[0.0; 2]).is_err());
    assert!(d.step(&[f64::NAN, 0.0, 0.0, 0.0], &[0.0; 2]).is_err());
    use jacsense::Blackbox;
    assert!(d.call(&[0.0; 3], &mut [0.0; 4]).is_err());
    assert!(d.call(&[0.0; 6], &mut [0.0; 3]).is_err());
    assert!(d.clone().with_steps(0).is_err());
    let mut world = PhysicsWorld::new();
    let fixed = world.bodies.insert(RigidBodyBuilder::fixed());
    let err = Dynamics::new(world, vec![jacsense_rapier::Control::Force { body: fixed, direction: Vector::X }]);
    assert!(matches!(err, Err(jacsense_rapier::Error::InvalidControl { index: 0, .. })));
}

/// The relative error of a tracked `J` against central differences at a small step.
fn tracking_error(d: &Dynamics, point: &[f64], j: &jacsense::SparseMatrix) -> f64 {
    let reference = Settings {
        design: Design::Coordinate,
        difference: Difference::Central,
        step: jacsense::Step::Relative(1e-6),
        ..Settings::default()
    };
    let n = point.len();
    let r = jacobian_with(d, point, &Structure::dense(d.nx(), n), &reference).unwrap().dense();
    let j = j.to_dense();
    let err = (0..d.nx()).flat_map(|i| (0..n).map(move |c| (i, c))).map(|(i, c)| (j[(i, c)] - r[(i, c)]).powi(2));
    err.sum::<f64>().sqrt() / r.norm_l2()
}

/// The boxes land within the first steps (contact appears): every step whose update
/// is off by more than 1e-3 is flagged by validation, and smooth steps are accepted.
#[test]
fn tracking_flags_the_landing_of_boxes() {
    let mut d = scenes::boxes(1).unwrap();
    let structure = d.structure().unwrap();
    let mut tracker =
        jacsense::Tracker::new(&structure, &jacsense_rapier::settings(), jacsense::TrackSettings::default()).unwrap();
    let (mut accepted, mut flagged) = (0, 0);
    for _ in 0..25 {
        let point = d.point();
        let est = tracker.estimate(&d, &point, None).unwrap();
        let err = tracking_error(&d, &point, &est.jacobian);
        if est.resensed {
            flagged += 1;
        } else {
            accepted += 1;
            assert!(err <= 1e-3, "an accepted estimate is off by {err:.1e}");
        }
        d.advance(&d.u0()).unwrap();
    }
    assert!(accepted >= 5 && flagged >= 3, "accepted {accepted}, flagged {flagged}");
}

/// Calls by need on the arm stepped at 1 ms, where `J` hardly moves from step to step:
/// the calibrated filters skip update calls the prediction does not need, and every
/// estimate stays within 1e-5 of central differences.
#[test]
fn tracking_calls_by_need_on_a_slow_arm() {
    let run = |margin: f64| {
        let mut d = scenes::arm_with_dt(0.001).unwrap();
        let structure = d.structure().unwrap();
        let track = jacsense::TrackSettings { margin, ..jacsense::TrackSettings::default() };
        let mut tracker = jacsense::Tracker::new(&structure, &jacsense_rapier::settings(), track).unwrap();
        let mut calls = 0;
        for t in 0..60 {
            let u: Vec<f64> = (0..d.nu()).map(|j| 0.4 * (2.0 * t as f64 * d.dt() + j as f64).sin()).collect();
            let point: Vec<f64> = d.x0().into_iter().chain(u.iter().copied()).collect();
            let est = tracker.estimate(&d, &point, None).unwrap();
            calls += est.calls;
            let err = tracking_error(&d, &point, &est.jacobian);
            assert!(err <= 1e-5, "margin {margin}, step {t}: error {err:.1e}");
            d.advance(&u).unwrap();
        }
        calls
    };
    let (by_need, every) = (run(0.5), run(0.0));
    // Measured: 307 calls against 351 over the 60 points (the first three are full senses).
    assert!(10 * by_need < 9 * every, "by need {by_need} calls, every update call {every}");
}

/// The worker answers the protocol as `Dynamics::step` does.
#[test]
fn worker_answers_the_protocol() {
    use std::io::Write;
    let d = scenes::double_pendulums(2).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_jacsense-rapier-worker"))
        .args(["pendulums", "--count", "2"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut point = d.point();
    point[0] += 0.1;
    let line: Vec<String> = point.iter().map(|v| format!("{v:?}")).collect();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", line.join(" ")).unwrap();
    writeln!(stdin, "1 2 3").unwrap(); // wrong count: an answer of NaN, not a crash
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let got: Vec<f64> = lines[0].split_whitespace().map(|t| t.parse().unwrap()).collect();
    let expected = d.step(&point[..d.nx()], &point[d.nx()..]).unwrap();
    assert_eq!(got, expected);
    assert!(lines[1].split_whitespace().all(|t| t == "nan"));
}
