//! Running part of a test in a child process, for what ends a process: the
//! default error hook's abort on a bad free.

use std::process::{Command, Output};

const ROLE: &str = "SLAB_ALLOC_ZONE_TEST_CHILD";

/// The role this process plays if it is a child started by [`run`].
pub(crate) fn role() -> Option<String> {
    std::env::var(ROLE).ok()
}

/// Runs the test `test` of this binary alone in a child process with the
/// role `role`, and returns how it ended and what it wrote.
pub(crate) fn run(test: &str, role: &str) -> Output {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .output()
        .expect("the test binary starts again as a child")
}
