//! Errors: a configuration a cache cannot be built from, and a free the
//! checks reject.

use core::alloc::Layout;
use core::fmt;

/// Why [`SlabBuilder`](crate::SlabBuilder) refused a configuration.
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::GlobalUntyped;
/// use slab_alloc::{ConfigError, SlabBuilder};
///
/// // A 4 KiB object does not fit twice in a 4 KiB slab.
/// let slab = Layout::from_size_align(4096, 4096).unwrap();
/// let err = SlabBuilder::new("pages")
///     .layout(Layout::from_size_align(4096, 8).unwrap())
///     .build_untyped(GlobalUntyped::system(slab))
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::TooFewObjects { fits: 0 | 1, .. }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An untyped cache was built without [`SlabBuilder::layout`](crate::SlabBuilder::layout).
    NoLayout,
    /// A shared cache's objects are larger than 256 KiB or aligned above a
    /// page.
    TooLargeForShared {
        /// The object size.
        size: usize,
        /// The object alignment.
        align: usize,
    },
    /// The memory for a shared cache's state could not be mapped.
    OutOfMemory,
    /// Objects of size zero are not supported: they need no memory.
    ZeroSizeObject,
    /// The slab size is not a power of two, so a slab cannot be aligned to it
    /// and found by masking.
    SlabSizeNotPowerOfTwo {
        /// The requested slab size.
        slab_size: usize,
    },
    /// The object alignment is above the slab size.
    AlignAboveSlab {
        /// The object alignment.
        align: usize,
        /// The slab size.
        slab_size: usize,
    },
    /// The backing's blocks are not the slab size, or (without the `alloc`
    /// feature, which brings the pointer-to-slab map) not aligned to it.
    BackingMismatch {
        /// The slab size the cache wants.
        slab_size: usize,
        /// The backing allocator's layout.
        backing: Layout,
    },
    /// The backing aligns its blocks less than an object or a slab header
    /// needs.
    BackingUnderaligned {
        /// The backing's alignment.
        align: usize,
        /// The alignment needed.
        needed: usize,
    },
    /// The slab holds fewer than two objects beside its header.
    TooFewObjects {
        /// How many objects fit.
        fits: usize,
        /// The slab size.
        slab_size: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::NoLayout => f.write_str("no object layout was given"),
            ConfigError::TooLargeForShared { size, align } => write!(
                f,
                "a shared cache takes objects of at most 256 KiB aligned to at most a page, not {size} bytes aligned to {align}"
            ),
            ConfigError::OutOfMemory => f.write_str("no memory for the cache's state"),
            ConfigError::ZeroSizeObject => f.write_str("zero-size objects are not supported"),
            ConfigError::SlabSizeNotPowerOfTwo { slab_size } => {
                write!(f, "slab size {slab_size} is not a power of two")
            }
            ConfigError::AlignAboveSlab { align, slab_size } => {
                write!(
                    f,
                    "object alignment {align} is above the slab size {slab_size}"
                )
            }
            ConfigError::BackingMismatch { slab_size, backing } => write!(
                f,
                "the backing hands out blocks of {} bytes aligned to {}, but slabs are {slab_size} bytes{}",
                backing.size(),
                backing.align(),
                if backing.size() == slab_size {
                    " aligned to their size (slabs that are not need the `alloc` feature's pointer-to-slab map)"
                } else {
                    ""
                }
            ),
            ConfigError::BackingUnderaligned { align, needed } => write!(
                f,
                "the backing aligns blocks to {align} bytes; objects and slab headers need {needed}"
            ),
            ConfigError::TooFewObjects { fits, slab_size } => write!(
                f,
                "a slab of {slab_size} bytes holds {fits} object(s) beside its header; at least 2 are needed"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}

/// What a checked free found wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FreeErrorKind {
    /// The address is not in any slab this cache holds.
    NotManaged,
    /// The address is in one of this cache's slabs, but in its header or
    /// padding rather than in an object.
    NotAnObject,
    /// The address is inside an object but not at its start.
    Interior {
        /// Where the object starts.
        object: usize,
    },
    /// The object is not allocated: freed twice, or never handed out.
    DoubleFree,
    /// The address is an object of another cache.
    OtherCache {
        /// That cache's name.
        other: &'static str,
    },
    /// The slab header does not carry this cache's tag: it was overwritten
    /// (an overrun of the last object of the slab just below it in memory
    /// reaches it).
    CorruptHeader,
}

/// A free that the checks rejected: which cache, which address, and what
/// was wrong. Its `Display` is the message the default error hook prints.
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
/// use slab_alloc::{FreeErrorKind, SlabBuilder};
///
/// let slab = Layout::from_size_align(1 << 16, 1 << 16).unwrap();
/// let mut cache = SlabBuilder::new("buffers")
///     .layout(Layout::new::<[u8; 64]>())
///     .build_untyped(GlobalUntyped::system(slab))
///     .unwrap();
/// let obj = cache.alloc().unwrap();
/// // SAFETY: `obj` came from `cache`.
/// unsafe { cache.try_dealloc(obj) }.unwrap();
/// // SAFETY: any address may be passed to the checked free.
/// let err = unsafe { cache.try_dealloc(obj) }.unwrap_err();
/// assert_eq!(err.kind, FreeErrorKind::DoubleFree);
/// assert!(err.to_string().contains("buffers"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreeError {
    /// The name of the cache the free was made to.
    pub cache: &'static str,
    /// The address given to the free.
    pub addr: usize,
    /// What was wrong.
    pub kind: FreeErrorKind,
}

impl fmt::Display for FreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "slab-alloc: cache `{}`: bad free of {:#x}: ",
            self.cache, self.addr
        )?;
        match self.kind {
            FreeErrorKind::NotManaged => f.write_str("address not managed by this cache"),
            FreeErrorKind::NotAnObject => {
                f.write_str("address in a slab's header or padding, not in an object")
            }
            FreeErrorKind::Interior { object } => {
                write!(
                    f,
                    "address inside the object at {object:#x}, not at its start"
                )
            }
            FreeErrorKind::DoubleFree => f.write_str("double free (the object is not allocated)"),
            FreeErrorKind::OtherCache { other } => {
                write!(f, "object of another cache, `{other}`")
            }
            FreeErrorKind::CorruptHeader => {
                f.write_str("slab header overwritten (an overrun of the slab below it?)")
            }
        }
    }
}

impl core::error::Error for FreeError {}

/// What a cache calls when its trait `dealloc` is given a bad free: a plain
/// function, replaceable per cache with
/// [`SlabBuilder::error_hook`](crate::SlabBuilder::error_hook). If the hook
/// returns, the free is ignored (the address is left as it was).
pub type ErrorHook = fn(&FreeError);

/// The default [`ErrorHook`]: with `std`, writes the message to stderr and
/// aborts the process; without `std`, panics with the message.
///
/// ```no_run
/// use slab_alloc::{FreeError, FreeErrorKind, abort_on_error};
///
/// abort_on_error(&FreeError { cache: "demo", addr: 0x1000, kind: FreeErrorKind::NotManaged });
/// ```
#[cold]
#[inline(never)]
pub fn abort_on_error(err: &FreeError) {
    #[cfg(feature = "std")]
    {
        std::eprintln!("{err}");
        std::process::abort();
    }
    #[cfg(not(feature = "std"))]
    panic!("{err}");
}
