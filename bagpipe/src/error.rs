//! Why a `try_push` or `try_pop` did not happen, and why a `Bagpipe` could
//! not be built.

use core::fmt;

/// Why [`try_push`](crate::SharedWeakBag::try_push) did not push. The item
/// comes back in either case.
///
/// ```
/// use bagpipe::PushError;
///
/// let err = PushError::Contended(7);
/// assert!(err.is_contended());
/// assert_eq!(err.into_inner(), 7);
/// assert!(!PushError::Full(7).is_contended());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushError<T> {
    /// A transient failure: another thread got in the way (a lost
    /// compare-and-swap, a slot a popper gave up on). Trying again, on this
    /// bag or another, may succeed at once.
    Contended(T),
    /// The bag is full: only a pop makes room. None of this crate's bags is
    /// ever full; the variant is for bounded implementations of the trait.
    Full(T),
}

impl<T> PushError<T> {
    /// The item that was not pushed.
    ///
    /// ```
    /// use bagpipe::PushError;
    ///
    /// assert_eq!(PushError::Full("x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PushError::Contended(item) | PushError::Full(item) => item,
        }
    }

    /// Whether the failure was transient (contention), as opposed to a full
    /// bag.
    ///
    /// ```
    /// use bagpipe::PushError;
    ///
    /// assert!(PushError::Contended(()).is_contended());
    /// ```
    pub fn is_contended(&self) -> bool {
        matches!(self, PushError::Contended(_))
    }
}

// Written by hand so that `Result<(), PushError<T>>::unwrap` works for any
// `T`: the item is not shown.
impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Contended(_) => f.write_str("Contended(..)"),
            PushError::Full(_) => f.write_str("Full(..)"),
        }
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Contended(_) => f.write_str("push lost a race with another thread"),
            PushError::Full(_) => f.write_str("push into a full bag"),
        }
    }
}

impl<T> std::error::Error for PushError<T> {}

/// Why [`try_pop`](crate::SharedWeakBag::try_pop) returned no item.
///
/// ```
/// use bagpipe::{PopError, SharedWeakBag, TreiberStack};
///
/// let stack = TreiberStack::<u32>::new();
/// assert_eq!(stack.try_pop(), Err(PopError::Empty));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PopError {
    /// A transient failure: another thread got in the way (a lost
    /// compare-and-swap, a slot whose push had not finished). The bag may
    /// hold items; trying again, on this bag or another, may find one.
    Contended,
    /// The bag was seen empty.
    Empty,
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopError::Contended => f.write_str("pop lost a race with another thread"),
            PopError::Empty => f.write_str("pop from an empty bag"),
        }
    }
}

impl std::error::Error for PopError {}

/// Why a [`Bagpipe`](crate::Bagpipe) could not be built.
///
/// ```
/// use bagpipe::{Bagpipe, BuildError, TreiberStack};
///
/// let err = Bagpipe::<TreiberStack<u8>>::with_bags(0).unwrap_err();
/// assert_eq!(err, BuildError::ZeroBags);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildError {
    /// A bagpipe of zero inner bags was asked for.
    ZeroBags,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroBags => f.write_str("a bagpipe needs at least one inner bag"),
        }
    }
}

impl std::error::Error for BuildError {}
