//! Running part of a test in a child process, for what kills or limits a
//! process: a guard-page fault, an address-space limit.

use std::process::{Command, ExitStatus};

const ROLE: &str = "MMAP_ALLOC_TEST_CHILD";

/// The role this process plays if it is a child started by [`run`].
pub(crate) fn role() -> Option<String> {
    std::env::var(ROLE).ok()
}

/// Runs the test `test` of this binary alone in a child process with the
/// role `role`, and returns how it ended.
pub(crate) fn run(test: &str, role: &str) -> ExitStatus {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .status()
        .expect("the test binary starts again as a child")
}
