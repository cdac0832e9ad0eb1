//! A failure names its seed, and the seed replays it.

use std::process::Command;

use object_alloc_test::{Config, SEED_VAR, object_layouts, untyped};

use crate::broken::HandsOutLiveTwice;

fn failure_with(seed: u64) -> String {
    let config = Config {
        seed,
        ops: 5_000,
        threads: 2,
    };
    untyped::random(HandsOutLiveTwice::new, &object_layouts(), &config)
        .expect_err("the broken allocator passed")
        .to_string()
}

/// Where in the sequence a failure happened ("at operation N"), which the
/// seed decides; addresses differ from run to run.
fn operation(failure: &str) -> &str {
    let start = failure
        .find("at operation")
        .expect("random failures name their operation");
    let end = start + failure[start..].find(':').unwrap();
    &failure[start..end]
}

#[test]
fn a_failure_prints_the_seed_and_how_to_replay_it() {
    let text = failure_with(0x5eed);
    assert!(
        text.contains("[seed 0x5eed: replay with OBJECT_ALLOC_TEST_SEED=0x5eed]"),
        "{text}"
    );
}

#[test]
fn the_same_seed_finds_the_same_failure() {
    let first = failure_with(0xabc);
    assert_eq!(operation(&first), operation(&failure_with(0xabc)));
    // Another seed walks another sequence, so the failure comes at another
    // operation.
    let others: Vec<String> = (1..=6).map(failure_with).collect();
    assert!(
        others.iter().any(|o| operation(o) != operation(&first)),
        "every seed failed at the same point: {first}"
    );
}

/// Prints the configuration read from the environment; run by the test
/// below in a child process with the variables set.
#[test]
#[ignore = "run by `the_environment_sets_the_seed`"]
fn print_config() {
    let config = Config::from_env();
    println!(
        "config: seed={:#x} ops={} threads={}",
        config.seed, config.ops, config.threads
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn the_environment_sets_the_seed() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "seeds::print_config", "--nocapture"])
        .env(SEED_VAR, "0x1234")
        .env("OBJECT_ALLOC_TEST_OPS", "777")
        .env("OBJECT_ALLOC_TEST_THREADS", "3")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("config: seed=0x1234 ops=777 threads=3"),
        "{stdout}"
    );
}
