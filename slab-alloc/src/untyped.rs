//! The untyped cache: blocks of one layout, no construction.

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

use object_alloc::{AllocError, UntypedObjectAlloc};

use crate::cache::Cache;
use crate::error::FreeError;
use crate::stats::Stats;

/// A slab cache of untyped blocks of one layout, over a backing
/// `B` that hands out the slabs. Made by
/// [`SlabBuilder::build_untyped`](crate::SlabBuilder::build_untyped).
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
/// use slab_alloc::{SlabBuilder, slab_layout_for};
///
/// let object = Layout::from_size_align(48, 16).unwrap();
/// let mut cache = SlabBuilder::new("packets")
///     .layout(object)
///     .build_untyped(GlobalUntyped::system(slab_layout_for(object)))
///     .unwrap();
/// let block = cache.alloc().unwrap();
/// assert_eq!(block.addr().get() % 16, 0);
/// // SAFETY: `block` came from `cache` and is freed once.
/// unsafe { cache.dealloc(block) };
/// ```
///
/// It is single-threaded: `Send` (when the backing is) but not `Sync`.
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<slab_alloc::UntypedSlabAlloc<object_alloc::GlobalUntyped<std::alloc::System>>>();
/// ```
pub struct UntypedSlabAlloc<B: UntypedObjectAlloc> {
    pub(crate) core: Cache<B>,
}

// SAFETY: the cache owns its slabs and the backing; nothing in it is tied to
// a thread once the backing can move (`B: Send`). The registry it writes to
// is behind a lock.
unsafe impl<B: UntypedObjectAlloc + Send> Send for UntypedSlabAlloc<B> {}

impl<B: UntypedObjectAlloc> UntypedSlabAlloc<B> {
    /// A block from the slab `home` (below [`HOMES`](crate::cache::HOMES))
    /// claimed, as [`Cache::alloc_for`](crate::cache::Cache::alloc_for).
    #[cfg(feature = "zone")]
    #[inline]
    pub(crate) fn alloc_for(
        &mut self,
        home: usize,
        grow: bool,
        idle: u8,
    ) -> Result<NonNull<u8>, AllocError> {
        self.core
            .alloc_for(home, grow, idle)
            .map(|(block, _)| block)
    }

    /// Frees a block after the checks, or says what is wrong with the free
    /// and leaves everything as it was.
    ///
    /// # Errors
    ///
    /// A [`FreeError`] naming this cache, the address and the
    /// [`FreeErrorKind`](crate::FreeErrorKind): an address in no slab of this
    /// cache, an address in an object but not at its start, a block that is
    /// not allocated, a block of another cache.
    ///
    /// # Safety
    ///
    /// - If `ptr` is a block this cache handed out and has not taken back, the
    ///   caller gives it up (it may be handed out again).
    /// - Without the `alloc` feature only: unless `ptr` is in a slab of this
    ///   cache, the slab-size-aligned region containing it starts with
    ///   readable memory of a slab header's size (true for any address in a
    ///   slab of any cache of this crate). With `alloc`, any address may be
    ///   passed.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
    /// use slab_alloc::{FreeErrorKind, SlabBuilder, slab_layout_for};
    ///
    /// let object = Layout::new::<[u8; 32]>();
    /// let mut cache = SlabBuilder::new("demo").layout(object)
    ///     .build_untyped(GlobalUntyped::system(slab_layout_for(object))).unwrap();
    /// let block = cache.alloc().unwrap();
    /// // SAFETY: an interior address; any address may be checked.
    /// let err = unsafe { cache.try_dealloc(block.add(1)) }.unwrap_err();
    /// assert_eq!(err.kind, FreeErrorKind::Interior { object: block.addr().get() });
    /// // SAFETY: the block came from `cache`.
    /// unsafe { cache.try_dealloc(block) }.unwrap();
    /// ```
    #[inline]
    pub unsafe fn try_dealloc(&mut self, ptr: NonNull<u8>) -> Result<(), FreeError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.core.free(ptr) }
    }

    /// A snapshot of the cache's counters.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::GlobalUntyped;
    /// # use slab_alloc::{SlabBuilder, slab_layout_for};
    /// let o = Layout::new::<u64>();
    /// let cache = SlabBuilder::new("s").layout(o).build_untyped(GlobalUntyped::system(slab_layout_for(o))).unwrap();
    /// assert_eq!(cache.stats().bytes_held, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// Returns every empty slab to the backing now; returns how many went.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
    /// # use slab_alloc::{SlabBuilder, slab_layout_for};
    /// let o = Layout::new::<u64>();
    /// let mut cache = SlabBuilder::new("s").layout(o).build_untyped(GlobalUntyped::system(slab_layout_for(o))).unwrap();
    /// let b = cache.alloc().unwrap();
    /// // SAFETY: from `cache`, freed once.
    /// unsafe { cache.dealloc(b) };
    /// assert_eq!(cache.reap(), 1);
    /// assert_eq!(cache.stats().slabs, 0);
    /// ```
    pub fn reap(&mut self) -> usize {
        self.core.reap()
    }

    /// How many objects one slab holds.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::GlobalUntyped;
    /// # use slab_alloc::SlabBuilder;
    /// let slab = Layout::from_size_align(4096, 4096).unwrap();
    /// let cache = SlabBuilder::new("s").layout(Layout::new::<[u8; 1024]>())
    ///     .build_untyped(GlobalUntyped::system(slab)).unwrap();
    /// assert_eq!(cache.objects_per_slab(), 3);
    /// ```
    pub fn objects_per_slab(&self) -> usize {
        self.core.geometry().capacity as usize
    }

    /// The cache's name.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::GlobalUntyped;
    /// # use slab_alloc::{SlabBuilder, slab_layout_for};
    /// let o = Layout::new::<u8>();
    /// let cache = SlabBuilder::new("bytes").layout(o).build_untyped(GlobalUntyped::system(slab_layout_for(o))).unwrap();
    /// assert_eq!(cache.name(), "bytes");
    /// ```
    pub fn name(&self) -> &'static str {
        self.core.name
    }

    /// The backing allocator.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
    /// # use slab_alloc::{SlabBuilder, slab_layout_for};
    /// let o = Layout::new::<u8>();
    /// let cache = SlabBuilder::new("bytes").layout(o).build_untyped(GlobalUntyped::system(slab_layout_for(o))).unwrap();
    /// assert_eq!(cache.backing().layout(), slab_layout_for(o));
    /// ```
    pub fn backing(&self) -> &B {
        self.core.backing()
    }

    /// Checks the slab lists and every slab's counters; panics on a
    /// violation. For tests and debugging (O(slabs)).
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::GlobalUntyped;
    /// # use slab_alloc::{SlabBuilder, slab_layout_for};
    /// let o = Layout::new::<u8>();
    /// let cache = SlabBuilder::new("bytes").layout(o).build_untyped(GlobalUntyped::system(slab_layout_for(o))).unwrap();
    /// cache.check_invariants();
    /// ```
    pub fn check_invariants(&self) {
        self.core.check_invariants()
    }
}

impl<B: UntypedObjectAlloc> fmt::Debug for UntypedSlabAlloc<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UntypedSlabAlloc")
            .field("name", &self.core.name)
            .field("object_size", &self.core.geometry().stride)
            .field("slab_size", &self.core.geometry().slab_size)
            .field("stats", &self.core.stats())
            .finish_non_exhaustive()
    }
}

// SAFETY: blocks are disjoint stride-sized ranges inside slabs from the
// backing (`Geometry::new` keeps them inside the slab and after its
// metadata), aligned because the slab is aligned to its size and every object
// offset is a multiple of the alignment; the allocated bitmap hands out a
// block only while it is free; slabs stay where they are when the cache moves.
unsafe impl<B: UntypedObjectAlloc> UntypedObjectAlloc for UntypedSlabAlloc<B> {
    #[inline]
    fn layout(&self) -> Layout {
        self.core.geometry().object
    }

    #[inline]
    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        self.core.alloc().map(|(block, _)| block)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        // SAFETY: the caller guarantees `ptr` came from this cache, which
        // satisfies `try_dealloc`'s contract.
        if let Err(err) = unsafe { self.core.free(ptr) } {
            report(self.core.policy.hook, &err);
        }
    }
}

/// Hands a bad free to the cache's hook.
#[cold]
#[inline(never)]
pub(crate) fn report(hook: crate::error::ErrorHook, err: &FreeError) {
    hook(err)
}
