//! A deadline for the test binaries that install a global allocator: a
//! hang in the allocator would start before `main` (std's runtime
//! allocates first), so an `.init_array` entry arms `alarm(2)` before any
//! Rust code runs, and a hang dies of SIGALRM instead of blocking the run.

/// Seconds the whole binary may take.
const DEADLINE_SECONDS: libc::c_uint = 120;

/// Arms the deadline; run by the dynamic loader before std's runtime.
extern "C" fn arm_deadline() {
    // SAFETY: `alarm` has no preconditions; SIGALRM's default action ends
    // the process, which is what a hang here must do.
    unsafe { libc::alarm(DEADLINE_SECONDS) };
}

#[used]
#[unsafe(link_section = ".init_array")]
static ARM_DEADLINE: extern "C" fn() = arm_deadline;
