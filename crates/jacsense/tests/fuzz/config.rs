//! The proptest configuration both fuzz suites run with (the library's and the
//! command's, which includes this file by path).

use proptest::test_runner::{Config as ProptestConfig, RngSeed};

/// Cases run in a child process, so that an abort or a hang fails one case with its
/// input. The seed is fixed, so that CI runs the same cases every time (a failure is a
/// bug to fix, not a flake); `PROPTEST_RNG_SEED=<u64>` and `PROPTEST_CASES=<n>` explore
/// further. The counts keep each suite's run within seconds in release.
pub fn config(cases: u32) -> ProptestConfig {
    let from_env = ProptestConfig::default();
    let explore = |var: &str| std::env::var_os(var).is_some();
    ProptestConfig {
        cases: if explore("PROPTEST_CASES") { from_env.cases } else { cases },
        rng_seed: if explore("PROPTEST_RNG_SEED") { from_env.rng_seed } else { RngSeed::Fixed(0x6a61_6373) },
        fork: true,
        timeout: 20_000,
        // The seed reproduces a failure; no regression files in the source tree.
        failure_persistence: None,
        ..from_env
    }
}
