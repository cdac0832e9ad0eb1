//! The typed cache: constructed `T`s, cached in their constructed state.

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use object_alloc::{AllocError, Init, ObjectAlloc, UntypedObjectAlloc};

use crate::cache::Cache;
use crate::error::FreeError;
use crate::stats::Stats;
use crate::untyped::report;

/// A slab cache of constructed `T`s (Bonwick's object cache): an object is
/// constructed by `I` the first time its memory is handed out, and a freed
/// object is kept as it was freed and handed out again without running the
/// constructor. Objects are dropped when their slab goes back to the backing
/// and when the cache drops. Made by
/// [`SlabBuilder::build`](crate::SlabBuilder::build).
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, ObjectAlloc};
/// use slab_alloc::{SlabBuilder, slab_layout_for};
///
/// let mut buffers = SlabBuilder::new("buffers")
///     .build::<Vec<u8>, _, _>(|| Vec::with_capacity(4096), GlobalUntyped::system(slab_layout_for(Layout::new::<Vec<u8>>())))
///     .unwrap();
/// let buf = buffers.alloc().unwrap();
/// // SAFETY: `buf` came from `buffers` and is freed once.
/// unsafe { buffers.dealloc(buf) };
/// let again = buffers.alloc().unwrap();
/// assert_eq!(again, buf);
/// assert_eq!(buffers.stats().constructions, 1); // reuse skipped the constructor
/// // SAFETY: as above.
/// unsafe { buffers.dealloc(again) };
/// ```
///
/// It is single-threaded: `Send` (when `T`, `I` and the backing are) but not
/// `Sync`.
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<slab_alloc::SlabAlloc<u64, object_alloc::DefaultInit, object_alloc::GlobalUntyped<std::alloc::System>>>();
/// ```
pub struct SlabAlloc<T, I, B: UntypedObjectAlloc> {
    pub(crate) core: Cache<B>,
    pub(crate) init: I,
    // The cache owns and drops `T`s.
    pub(crate) _objects: PhantomData<T>,
}

// SAFETY: the cache owns its `T`s (hence `T: Send`), its initialiser and its
// backing; nothing in it is tied to a thread. The registry it writes to is
// behind a lock.
unsafe impl<T: Send, I: Send, B: UntypedObjectAlloc + Send> Send for SlabAlloc<T, I, B> {}

/// The type-erased drop the core runs on free objects, or `None` when `T`
/// has no drop glue.
pub(crate) fn drop_fn<T>() -> Option<unsafe fn(NonNull<u8>)> {
    /// # Safety
    /// `obj` holds a valid `T` that nobody else owns, dropped once.
    unsafe fn drop_erased<T>(obj: NonNull<u8>) {
        // SAFETY: forwarded from the caller.
        unsafe { obj.cast::<T>().drop_in_place() }
    }
    if core::mem::needs_drop::<T>() {
        Some(drop_erased::<T>)
    } else {
        None
    }
}

impl<T, I: Init<T>, B: UntypedObjectAlloc> SlabAlloc<T, I, B> {
    /// Frees an object after the checks, or says what is wrong with the free
    /// and leaves everything as it was. The object is kept constructed.
    ///
    /// # Errors
    ///
    /// A [`FreeError`] naming this cache, the address and the
    /// [`FreeErrorKind`](crate::FreeErrorKind).
    ///
    /// # Safety
    ///
    /// - If `obj` is an object this cache handed out and has not taken back,
    ///   it holds a valid `T` and the caller gives it up.
    /// - Without the `alloc` feature only: as for
    ///   [`UntypedSlabAlloc::try_dealloc`](crate::UntypedSlabAlloc::try_dealloc).
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{GlobalUntyped, ObjectAlloc};
    /// use slab_alloc::{FreeErrorKind, SlabBuilder, slab_layout_for};
    ///
    /// let mut cache = SlabBuilder::new("words")
    ///     .build_default::<u64, _>(GlobalUntyped::system(slab_layout_for(Layout::new::<u64>()))).unwrap();
    /// let w = cache.alloc().unwrap();
    /// // SAFETY: from `cache`, a valid `u64`.
    /// unsafe { cache.try_dealloc(w) }.unwrap();
    /// // SAFETY: any address may be checked.
    /// assert_eq!(unsafe { cache.try_dealloc(w) }.unwrap_err().kind, FreeErrorKind::DoubleFree);
    /// ```
    #[inline]
    pub unsafe fn try_dealloc(&mut self, obj: NonNull<T>) -> Result<(), FreeError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.core.free(obj.cast()) }
    }

    /// A snapshot of the cache's counters, constructor calls included.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::GlobalUntyped;
    /// # use slab_alloc::{SlabBuilder, slab_layout_for};
    /// let cache = SlabBuilder::new("w").build_default::<u64, _>(GlobalUntyped::system(slab_layout_for(Layout::new::<u64>()))).unwrap();
    /// assert_eq!(cache.stats().constructions, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// Drops the objects of every empty slab and returns those slabs to the
    /// backing now; returns how many went.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{GlobalUntyped, ObjectAlloc};
    /// # use slab_alloc::{SlabBuilder, slab_layout_for};
    /// let mut cache = SlabBuilder::new("w").build_default::<String, _>(GlobalUntyped::system(slab_layout_for(Layout::new::<String>()))).unwrap();
    /// let s = cache.alloc().unwrap();
    /// // SAFETY: from `cache`, freed once, a valid `String`.
    /// unsafe { cache.dealloc(s) };
    /// assert_eq!(cache.reap(), 1);
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
    /// let cache = SlabBuilder::new("w").build::<[u64; 128], _, _>(|| [0; 128], GlobalUntyped::system(slab)).unwrap();
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
    /// let cache = SlabBuilder::new("w").build_default::<u8, _>(GlobalUntyped::system(slab_layout_for(Layout::new::<u8>()))).unwrap();
    /// assert_eq!(cache.name(), "w");
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
    /// let cache = SlabBuilder::new("w").build_default::<u8, _>(GlobalUntyped::system(slab_layout_for(Layout::new::<u8>()))).unwrap();
    /// assert_eq!(cache.backing().layout().size(), 64 << 10);
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
    /// let cache = SlabBuilder::new("w").build_default::<u8, _>(GlobalUntyped::system(slab_layout_for(Layout::new::<u8>()))).unwrap();
    /// cache.check_invariants();
    /// ```
    pub fn check_invariants(&self) {
        self.core.check_invariants()
    }
}

impl<T, I, B: UntypedObjectAlloc> fmt::Debug for SlabAlloc<T, I, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlabAlloc")
            .field("name", &self.core.name)
            .field("object", &core::any::type_name::<T>())
            .field("slab_size", &self.core.geometry().slab_size)
            .field("stats", &self.core.stats())
            .finish_non_exhaustive()
    }
}

/// Gives a fresh object back to never-used if its constructor panics.
struct Unfresh<'a, B: UntypedObjectAlloc> {
    core: &'a mut Cache<B>,
    obj: NonNull<u8>,
}

impl<B: UntypedObjectAlloc> Drop for Unfresh<'_, B> {
    fn drop(&mut self) {
        self.core.unfresh(self.obj);
    }
}

// SAFETY: objects are disjoint, aligned slots of the untyped core (see
// `UntypedSlabAlloc`'s impl), laid out for `Layout::new::<T>()`. An object is
// handed out either fresh, after `init` wrote a valid `T` into it, or as its
// last owner freed it (a valid `T`, by `dealloc`'s contract). The core drops
// a `T` only for a free object whose slab goes away, once, and never one a
// caller holds.
unsafe impl<T, I: Init<T>, B: UntypedObjectAlloc> ObjectAlloc<T> for SlabAlloc<T, I, B> {
    #[inline]
    fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
        let (obj, fresh) = self.core.alloc()?;
        if fresh {
            construct(&mut self.core, &self.init, obj);
        }
        Ok(obj.cast())
    }

    #[inline]
    unsafe fn dealloc(&mut self, obj: NonNull<T>) {
        // SAFETY: the caller guarantees `obj` came from this cache and holds
        // a valid `T`, which satisfies `try_dealloc`'s contract.
        if let Err(err) = unsafe { self.core.free(obj.cast()) } {
            report(self.core.policy.hook, &err);
        }
    }
}

/// Runs the constructor on a fresh object; a panic gives the object back.
#[cold]
#[inline(never)]
fn construct<T, I: Init<T>, B: UntypedObjectAlloc>(
    core: &mut Cache<B>,
    init: &I,
    obj: NonNull<u8>,
) {
    let guard = Unfresh { core, obj };
    // SAFETY: `obj` is a never-used slot of the cache, sized and aligned for
    // a `T` (the geometry was made from `Layout::new::<T>()`), holding
    // nothing to drop.
    unsafe { init.init(obj.cast::<T>()) };
    guard.core.constructions += 1;
    core::mem::forget(guard);
}
