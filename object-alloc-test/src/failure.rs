//! What a failed check reports.

use std::fmt;

use crate::config::SEED_VAR;

/// The result of one check: `Ok` when the allocator passed it.
pub type CheckResult = Result<(), Failure>;

/// A check that an allocator failed: which check, on what (a layout, an
/// object type), what went wrong, and the seed that replays it.
///
/// ```
/// use object_alloc_test::Failure;
///
/// let f = Failure::new("alignment", "layout 24 bytes, align 8", "block 0x1004 is not aligned to 8")
///     .with_seed(0x2a);
/// assert_eq!(
///     f.to_string(),
///     "alignment (layout 24 bytes, align 8): block 0x1004 is not aligned to 8 \
///      [seed 0x2a: replay with OBJECT_ALLOC_TEST_SEED=0x2a]"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    check: &'static str,
    subject: String,
    message: String,
    seed: Option<u64>,
}

impl Failure {
    /// A failure of `check` on `subject`, described by `message`.
    ///
    /// ```
    /// # use object_alloc_test::Failure;
    /// let f = Failure::new("overlap", "u64 cache", "two live objects share 0x1000");
    /// assert_eq!(f.check(), "overlap");
    /// ```
    pub fn new(
        check: &'static str,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Failure {
            check,
            subject: subject.into(),
            message: message.into(),
            seed: None,
        }
    }

    /// Records the seed of the random sequence that found the failure.
    ///
    /// ```
    /// # use object_alloc_test::Failure;
    /// let f = Failure::new("random", "u64 cache", "corrupted").with_seed(7);
    /// assert_eq!(f.seed(), Some(7));
    /// ```
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The name of the check that failed.
    ///
    /// ```
    /// # use object_alloc_test::Failure;
    /// assert_eq!(Failure::new("zeroed", "System", "byte 3 is 0xaa").check(), "zeroed");
    /// ```
    pub fn check(&self) -> &'static str {
        self.check
    }

    /// What the check ran on: a layout, an object type, an allocator.
    ///
    /// ```
    /// # use object_alloc_test::Failure;
    /// assert_eq!(Failure::new("zeroed", "System", "byte 3 is 0xaa").subject(), "System");
    /// ```
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// What went wrong.
    ///
    /// ```
    /// # use object_alloc_test::Failure;
    /// assert_eq!(Failure::new("zeroed", "System", "byte 3 is 0xaa").message(), "byte 3 is 0xaa");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The seed of the random sequence, if the check used one.
    ///
    /// ```
    /// # use object_alloc_test::Failure;
    /// assert_eq!(Failure::new("layout", "x", "y").seed(), None);
    /// ```
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.check, self.subject, self.message)?;
        if let Some(seed) = self.seed {
            write!(f, " [seed {seed:#x}: replay with {SEED_VAR}={seed:#x}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

/// Panics with the failure's message: what the generated tests call, so that
/// `cargo test` shows the check, the subject and the seed.
///
/// ```should_panic
/// object_alloc_test::report(Err(object_alloc_test::Failure::new("overlap", "x", "boom")));
/// ```
#[track_caller]
pub fn report(result: CheckResult) {
    if let Err(failure) = result {
        panic!("allocator failed the conformance suite: {failure}");
    }
}
