//! Schemes and plans saved and loaded: the same points and the same decode, for every
//! design; damaged, edited or foreign files refused with an error, never a panic.

use jacsense::Coupling;
use jacsense::coloring::Coloring;
use jacsense::{
    Blackbox, Bounds, DecoderChoice, Design, Difference, Error, Measurements, Pattern, Plan, PlanOptions,
    RandomDistribution, Scheme, Settings, Structure,
};
use jacsense_problems::{
    BroydenTridiagonal, GradientField, Problem, laplacian_2d, random_symmetric_matrix, tied_convolution,
};

fn decode_bits(plan: &Plan, f: &dyn Blackbox) -> Vec<u64> {
    let (_, m) = f.dims();
    let mut meas = Measurements::new(plan).unwrap();
    for (call, x) in plan.points().iter().enumerate() {
        let mut y = vec![0.0; m];
        f.call(x, &mut y).unwrap();
        meas.tell(call, &y).unwrap();
    }
    meas.decode().jacobian().values().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn every_design_round_trips_to_the_same_points_and_decode() {
    let f = BroydenTridiagonal { n: 40 };
    let x0 = f.x0();
    let tri = Structure::sparse(f.pattern());
    let colors = Coloring::new((0..40).map(|c| c % 3).collect());
    let designs = [
        Settings { design: Design::Coordinate, ..Settings::default() },
        Settings::default(),
        Settings { design: Design::Groups(colors), ..Settings::default() },
        Settings {
            design: Design::Random { distribution: RandomDistribution::Rademacher, directions: None },
            ..Settings::default()
        },
        Settings { outliers: 0.1, ..Settings::default() },
        Settings { noise: 1e-6, difference: Difference::Central, ..Settings::default() },
        Settings {
            decoder: DecoderChoice::L1,
            design: Design::Rainbow { ordering: None, directions: Some(12) },
            ..Settings::default()
        },
    ];
    for settings in &designs {
        let plan = Plan::new(&tri, &x0, settings).unwrap();
        let again = Plan::from_json(&plan.to_json()).unwrap();
        assert_eq!(again.points(), plan.points(), "{:?}", settings.design);
        assert_eq!(again.settings(), plan.settings());
        assert_eq!(decode_bits(&again, &f), decode_bits(&plan, &f), "{:?}", settings.design);
        // The text is stable: saving the loaded plan gives the same file.
        assert_eq!(again.to_json(), plan.to_json());
    }
    // Unknown pattern, rows declared sparse: sparse recovery.
    let sparse = Structure::dense(40, 40).with_row_sparsity(3);
    let plan = Plan::new(&sparse, &x0, &Settings::default()).unwrap();
    let again = Plan::from_json(&plan.to_json()).unwrap();
    assert_eq!(decode_bits(&again, &f), decode_bits(&plan, &f));
}

#[test]
fn coupled_and_star_schemes_round_trip() {
    let g = GradientField { h: random_symmetric_matrix(laplacian_2d(8), 3) };
    let x0 = g.x0();
    let symmetric = Structure::symmetric(g.pattern()).unwrap();
    let (conv, tied) = tied_convolution(30, &[1.0, -2.0, 0.5]);
    let cases: [(Structure, Settings, &dyn Blackbox, Vec<f64>); 3] = [
        (
            symmetric.clone(),
            Settings { design: Design::Star { ordering: None }, ..Settings::default() },
            &g,
            x0.clone(),
        ),
        (symmetric.with_coupling(Coupling::default()).unwrap(), Settings::default(), &g, x0.clone()),
        (tied, Settings { outliers: 0.1, ..Settings::default() }, &conv, conv.x0()),
    ];
    for (structure, settings, f, x0) in cases {
        let scheme = Scheme::new(&structure, &settings).unwrap();
        let again = Scheme::from_json(&scheme.to_json()).unwrap();
        assert_eq!(again.structure(), scheme.structure());
        let (plan, reloaded) = (scheme.at(&x0).unwrap(), again.at(&x0).unwrap());
        assert_eq!(reloaded.points(), plan.points());
        assert_eq!(decode_bits(&reloaded, f), decode_bits(&plan, f));
    }
}

#[test]
fn bounds_and_a_given_f0_are_saved_with_the_plan() {
    let f = BroydenTridiagonal { n: 10 };
    let x0 = vec![0.0; 10];
    let mut f0 = vec![0.0; 10];
    f.call(&x0, &mut f0).unwrap();
    let mut upper = vec![f64::INFINITY; 10];
    upper[3] = 0.0; // x0[3] on its upper bound: its step goes down
    let options = PlanOptions { f0: Some(f0), bounds: Some(Bounds::new(vec![f64::NEG_INFINITY; 10], upper).unwrap()) };
    let plan =
        Scheme::new(&Structure::sparse(f.pattern()), &Settings::default()).unwrap().at_with(&x0, &options).unwrap();
    let again = Plan::from_json(&plan.to_json()).unwrap();
    assert_eq!(again.bounds(), plan.bounds());
    assert_eq!(again.given_f0(), plan.given_f0());
    assert_eq!(again.calls(), 3); // three colors, no call at x0
    assert!(again.points().iter().all(|x| x[3] <= 0.0));
    assert_eq!(decode_bits(&again, &f), decode_bits(&plan, &f));
}

#[test]
fn damaged_edited_or_foreign_files_are_refused() {
    let plan = Plan::new(&Structure::sparse(Pattern::banded(6, 6, 1, 1)), &[1.0; 6], &Settings::default()).unwrap();
    let text = plan.to_json();
    let saved = |r: Result<Plan, Error>| match r {
        Err(Error::Saved(message)) => message,
        other => panic!("expected a saved-plan error, got {other:?}"),
    };
    assert!(saved(Plan::from_json("")).contains("not a saved jacsense"));
    assert!(saved(Plan::from_json(&text[..text.len() / 2])).contains("not a saved jacsense"));
    assert!(saved(Plan::from_json(&text.replace("\"version\":1", "\"version\":2"))).contains("version 2"));
    assert!(saved(Plan::from_json(&text.replace("\"x0\":[1", "\"x0\":[3"))).contains("checksum"));
    assert!(
        saved(Plan::from_json(&Scheme::new(plan.structure(), &Settings::default()).unwrap().to_json()))
            .contains("jacsense-scheme")
    );
    // Data that pass the checksum but do not make a plan: re-sign an edited file the
    // way the writer does and it is still refused, naming what is wrong.
    let resign = |edit: &dyn Fn(&str) -> String| {
        let start = text.find("\"data\":").unwrap() + 7;
        let data = edit(&text[start..text.len() - 2]);
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in data.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let head = &text[..start];
        let checksum_at = head.find("\"checksum\":\"").unwrap() + 12;
        format!("{}{h:016x}{}{data}}}\n", &head[..checksum_at], &head[checksum_at + 16..])
    };
    assert!(Plan::from_json(&resign(&|d| d.to_string())).is_ok(), "the re-signing itself is right");
    type Edit<'a> = &'a dyn Fn(&str) -> String;
    let cases: [(&str, Edit); 5] = [
        ("x0 length", &|d| d.replace("\"x0\":[1.0,", "\"x0\":[")),
        ("group", &|d| d.replace("\"group\":[0,", "\"group\":[7,")),
        ("steps", &|d| d.replacen("\"steps\":[", "\"steps\":[-1.0,", 1)),
        ("col_idx", &|d| d.replace("\"col_idx\":[0,", "\"col_idx\":[99,")),
        ("unknown field", &|d| d.replacen("{", "{\"extra\":1,", 1)),
    ];
    for (what, edit) in cases {
        let message = saved(Plan::from_json(&resign(edit)));
        assert!(message.contains("invalid jacsense-plan"), "{what}: {message}");
    }
}
