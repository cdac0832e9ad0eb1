//! How long and how wide the checks run, and from which seed.

use std::hash::{BuildHasher, RandomState};

/// The environment variable that replays a seed: `OBJECT_ALLOC_TEST_SEED=0x2a`
/// (hexadecimal with `0x`, or decimal).
pub const SEED_VAR: &str = "OBJECT_ALLOC_TEST_SEED";
/// The environment variable that sets the number of operations of each
/// random sequence (default 100,000; 100 under Miri).
pub const OPS_VAR: &str = "OBJECT_ALLOC_TEST_OPS";
/// The environment variable that sets the number of threads of the
/// multi-threaded checks (default 8; 3 under Miri).
pub const THREADS_VAR: &str = "OBJECT_ALLOC_TEST_THREADS";

/// The knobs of a run: the seed of the random sequences, their length, and
/// the number of threads.
///
/// [`Config::from_env`] is what the generated tests use: a fresh random seed
/// each run unless `OBJECT_ALLOC_TEST_SEED` replays one, 100,000 operations
/// per random sequence and 8 threads, fewer under Miri (where the same checks
/// run with smaller counts rather than being skipped).
///
/// ```
/// use object_alloc_test::Config;
///
/// let quick = Config { seed: 1, ops: 1_000, threads: 2 };
/// assert_eq!(quick.ops, 1_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The seed of every random sequence in the run; each thread and each
    /// layout derives its own stream from it.
    pub seed: u64,
    /// Operations per random sequence.
    pub ops: usize,
    /// Threads in the multi-threaded checks.
    pub threads: usize,
}

impl Config {
    /// The configuration from the environment (`OBJECT_ALLOC_TEST_SEED`,
    /// `OBJECT_ALLOC_TEST_OPS`, `OBJECT_ALLOC_TEST_THREADS`), with defaults
    /// for what is unset.
    ///
    /// # Panics
    ///
    /// If a variable is set to something that is not a number.
    ///
    /// ```
    /// let config = object_alloc_test::Config::from_env();
    /// assert!(config.ops > 0 && config.threads > 0);
    /// ```
    pub fn from_env() -> Self {
        let seed = match read_var(SEED_VAR) {
            Some(seed) => seed,
            None => RandomState::new().hash_one(std::process::id()),
        };
        let default_ops = if cfg!(miri) { 100 } else { 100_000 };
        let default_threads = if cfg!(miri) { 3 } else { 8 };
        Config {
            seed,
            ops: read_var(OPS_VAR).map_or(default_ops, |n| n as usize).max(1),
            threads: read_var(THREADS_VAR)
                .map_or(default_threads, |n| n as usize)
                .max(2),
        }
    }

    /// The number of operations for a sequence over objects of `size` bytes:
    /// the full count up to 4 KiB, then fewer so that a sequence touches about
    /// the same number of bytes whatever the size.
    pub(crate) fn ops_for(&self, size: usize) -> usize {
        const FULL_UP_TO: usize = 4096;
        if size <= FULL_UP_TO {
            self.ops
        } else {
            (self.ops * FULL_UP_TO / size).max(self.ops.min(1000))
        }
    }

    /// How many objects of `size` bytes a bulk check keeps live at once:
    /// enough to fill several slabs, bounded in bytes.
    pub(crate) fn batch_for(&self, size: usize) -> usize {
        let (most, bytes) = if cfg!(miri) {
            (8, 128 << 10)
        } else {
            (1000, 16 << 20)
        };
        (bytes / size.max(1)).clamp(4, most)
    }

    /// The seed for one part of a check (a layout, a thread), so that parts
    /// do not repeat each other's sequences.
    pub(crate) fn seed_for(&self, part: u64) -> u64 {
        splitmix(self.seed ^ splitmix(part))
    }
}

fn read_var(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let text = value.trim();
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    match parsed {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a number (use decimal, or hexadecimal with 0x)"),
    }
}

/// A bijective 64-bit mixer (splitmix64's finaliser), for deriving seeds and
/// fill patterns.
pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
