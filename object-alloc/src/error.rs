//! The errors of the object-allocator traits and adapters.

use core::alloc::Layout;
use core::fmt;

/// An allocator could not provide an object: its memory source is exhausted
/// or refused the request.
///
/// Exhaustion is an ordinary result, never a panic: every `alloc` in this
/// crate returns `Result<_, AllocError>` so that callers (a kernel, an
/// embedded loop, a cache that can shed load) decide what running out means.
///
/// # Examples
///
/// ```
/// use core::alloc::Layout;
/// use core::ptr::NonNull;
/// use object_alloc::{AllocError, HookUntyped, UntypedObjectAlloc};
///
/// // A memory source that is always empty.
/// let layout = Layout::new::<u64>();
/// // SAFETY: the allocate hook never returns a block, so there is nothing
/// // for the free hook to receive.
/// let mut empty = unsafe {
///     HookUntyped::new(layout, |_| None, |_: NonNull<u8>, _| unreachable!())
/// };
/// assert_eq!(empty.alloc(), Err(AllocError));
/// assert_eq!(AllocError.to_string(), "the allocator's memory source is exhausted");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AllocError;

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the allocator's memory source is exhausted")
    }
}

impl core::error::Error for AllocError {}

/// A backing allocator's blocks cannot hold the objects of a typed view.
///
/// Returned by [`Typed::new`](crate::Typed::new) when the backing layout is
/// smaller than the object or less aligned than it.
///
/// # Examples
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{DefaultInit, GlobalUntyped, Typed};
///
/// let bytes4 = GlobalUntyped::system(Layout::new::<u32>());
/// let err = Typed::<u64, _, _>::new(bytes4, DefaultInit).unwrap_err();
/// assert_eq!(err.object(), Layout::new::<u64>());
/// assert_eq!(
///     err.to_string(),
///     "backing blocks of 4 bytes aligned to 4 cannot hold an object of 8 bytes aligned to 8"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutMismatch {
    pub(crate) object: Layout,
    pub(crate) backing: Layout,
}

impl LayoutMismatch {
    /// The layout of the object type.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, Typed};
    /// let err = Typed::<[u8; 9], _, _>::new(GlobalUntyped::system(Layout::new::<u64>()), DefaultInit)
    ///     .unwrap_err();
    /// assert_eq!(err.object().size(), 9);
    /// ```
    pub fn object(&self) -> Layout {
        self.object
    }

    /// The layout of the backing allocator's blocks.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, Typed};
    /// let err = Typed::<[u8; 9], _, _>::new(GlobalUntyped::system(Layout::new::<u64>()), DefaultInit)
    ///     .unwrap_err();
    /// assert_eq!(err.backing(), Layout::new::<u64>());
    /// ```
    pub fn backing(&self) -> Layout {
        self.backing
    }
}

impl fmt::Display for LayoutMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "backing blocks of {} bytes aligned to {} cannot hold an object of {} bytes aligned to {}",
            self.backing.size(),
            self.backing.align(),
            self.object.size(),
            self.object.align()
        )
    }
}

impl core::error::Error for LayoutMismatch {}
