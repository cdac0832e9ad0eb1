//! A typed view of an untyped allocator.

use core::alloc::Layout;
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::{
    AllocError, Init, LayoutMismatch, ObjectAlloc, SharedObjectAlloc, SharedUntypedObjectAlloc,
    UntypedObjectAlloc,
};

/// An [`ObjectAlloc<T>`] over an [`UntypedObjectAlloc`]: each `alloc` takes a
/// block from the backing allocator and runs the initialiser in it, each
/// `dealloc` drops the object and gives the block back.
///
/// It keeps no freed objects, so every object it hands out is freshly
/// constructed; that is the simplest way to meet the constructed-object
/// contract, and the baseline a caching allocator is measured against. It is
/// shared when the backing allocator is shared, the initialiser is `Sync` and
/// `T` is `Send`.
///
/// # Examples
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, ObjectAlloc, Typed};
///
/// #[derive(Debug, PartialEq)]
/// struct Conn { fd: i32, retries: u8 }
///
/// let backing = GlobalUntyped::system(Layout::new::<Conn>());
/// let mut conns = Typed::new(backing, || Conn { fd: -1, retries: 3 }).unwrap();
/// let conn = conns.alloc().unwrap();
/// // SAFETY: `conn` is a constructed `Conn` we own until it is freed.
/// assert_eq!(unsafe { conn.as_ref() }, &Conn { fd: -1, retries: 3 });
/// // SAFETY: from `conns`, freed once, still a valid `Conn`.
/// unsafe { conns.dealloc(conn) };
/// ```
pub struct Typed<T, A, I> {
    backing: A,
    init: I,
    // The view makes and drops `T`s but never keeps one.
    _objects: PhantomData<fn() -> T>,
}

impl<T, A: UntypedObjectAlloc, I: Init<T>> Typed<T, A, I> {
    /// Makes a typed view of `backing` that constructs objects with `init`.
    ///
    /// Fails with [`LayoutMismatch`] when the backing blocks are smaller than
    /// `T` or less aligned than it.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{DefaultInit, GlobalUntyped, Typed};
    ///
    /// // Blocks may be bigger and more aligned than the object.
    /// let roomy = GlobalUntyped::system(Layout::from_size_align(64, 64).unwrap());
    /// assert!(Typed::<u32, _, _>::new(roomy, DefaultInit).is_ok());
    /// // But not smaller.
    /// let tight = GlobalUntyped::system(Layout::new::<u16>());
    /// assert!(Typed::<u32, _, _>::new(tight, DefaultInit).is_err());
    /// ```
    pub fn new(backing: A, init: I) -> Result<Self, LayoutMismatch> {
        let object = Layout::new::<T>();
        let blocks = backing.layout();
        if blocks.size() < object.size() || blocks.align() < object.align() {
            return Err(LayoutMismatch {
                object,
                backing: blocks,
            });
        }
        Ok(Typed {
            backing,
            init,
            _objects: PhantomData,
        })
    }
}

impl<T, A, I> Typed<T, A, I> {
    /// The backing allocator.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, Typed, UntypedObjectAlloc};
    /// let view = Typed::<u8, _, _>::new(GlobalUntyped::system(Layout::new::<u8>()), DefaultInit).unwrap();
    /// assert_eq!(view.backing().layout().size(), 1);
    /// ```
    pub fn backing(&self) -> &A {
        &self.backing
    }

    /// Gives the backing allocator back. Objects still allocated from the view
    /// are not dropped; they stay valid blocks of the backing allocator.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, Typed};
    /// let view = Typed::<u8, _, _>::new(GlobalUntyped::system(Layout::new::<u8>()), DefaultInit).unwrap();
    /// let backing: GlobalUntyped<_> = view.into_backing();
    /// # let _ = backing;
    /// ```
    pub fn into_backing(self) -> A {
        self.backing
    }
}

impl<T, A: fmt::Debug, I> fmt::Debug for Typed<T, A, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Typed")
            .field("object", &core::any::type_name::<T>())
            .field("backing", &self.backing)
            .finish_non_exhaustive()
    }
}

/// Gives a block back to its allocator when dropped: keeps an initialiser
/// panic, or a destructor panic, from leaking the block.
struct BlockGuard<F: FnMut(NonNull<u8>)> {
    block: NonNull<u8>,
    free: F,
}

impl<F: FnMut(NonNull<u8>)> Drop for BlockGuard<F> {
    fn drop(&mut self) {
        (self.free)(self.block)
    }
}

/// Constructs a `T` in `block`, giving the block back through `free` if the
/// initialiser panics.
///
/// # Safety
///
/// `block` is valid for writes of a `T`, aligned for it, and holds nothing
/// that needs dropping.
#[inline]
unsafe fn construct<T, I: Init<T>>(
    init: &I,
    block: NonNull<u8>,
    free: impl FnMut(NonNull<u8>),
) -> NonNull<T> {
    let obj = block.cast::<T>();
    let guard = BlockGuard { block, free };
    // SAFETY: the caller guarantees the block can take a `T`.
    unsafe { init.init(obj) };
    core::mem::forget(guard);
    obj
}

/// Drops the `T` at `obj`, then gives its block back through `free`, also if
/// the destructor panics.
///
/// # Safety
///
/// `obj` holds a valid `T` that nothing else uses or drops.
#[inline]
unsafe fn destroy<T>(obj: NonNull<T>, free: impl FnMut(NonNull<u8>)) {
    let _guard = BlockGuard {
        block: obj.cast(),
        free,
    };
    // SAFETY: the caller guarantees `obj` holds a valid `T` owned by us.
    unsafe { obj.drop_in_place() }
}

// SAFETY: `new` checked that the backing blocks are big and aligned enough
// for a `T`, and every object handed out was constructed by `init` (whose
// trait promises a valid `T`) in a block of its own; `dealloc` drops each
// object exactly once before its block is reused.
unsafe impl<T, A: UntypedObjectAlloc, I: Init<T>> ObjectAlloc<T> for Typed<T, A, I> {
    #[inline]
    fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
        let block = self.backing.alloc()?;
        let backing = &mut self.backing;
        // SAFETY: the guard calls this only if `init` panics, with `block`,
        // which came from `backing` and is freed once.
        let free = |b| unsafe { backing.dealloc(b) };
        // SAFETY: a fresh block of the backing layout, which `new` checked
        // fits a `T`.
        Ok(unsafe { construct(&self.init, block, free) })
    }

    #[inline]
    unsafe fn dealloc(&mut self, obj: NonNull<T>) {
        let backing = &mut self.backing;
        // SAFETY: called once, with the block of `obj`, which came from
        // `backing` (the caller guarantees `obj` came from this view).
        let free = |b| unsafe { backing.dealloc(b) };
        // SAFETY: the caller guarantees `obj` holds a valid `T` that is ours.
        unsafe { destroy(obj, free) }
    }
}

// SAFETY: as for the single-threaded impl; the backing allocator is shared,
// the initialiser may be called from several threads because it is `Sync`,
// and objects may be dropped on another thread because `T: Send`.
unsafe impl<T: Send, A: SharedUntypedObjectAlloc, I: Init<T> + Sync> SharedObjectAlloc<T>
    for Typed<T, A, I>
{
    #[inline]
    fn alloc(&self) -> Result<NonNull<T>, AllocError> {
        let block = SharedUntypedObjectAlloc::alloc(&self.backing)?;
        // SAFETY: as in the single-threaded `alloc`.
        let free = |b| unsafe { SharedUntypedObjectAlloc::dealloc(&self.backing, b) };
        // SAFETY: as in the single-threaded `alloc`.
        Ok(unsafe { construct(&self.init, block, free) })
    }

    #[inline]
    unsafe fn dealloc(&self, obj: NonNull<T>) {
        // SAFETY: as in the single-threaded `dealloc`.
        let free = |b| unsafe { SharedUntypedObjectAlloc::dealloc(&self.backing, b) };
        // SAFETY: as in the single-threaded `dealloc`.
        unsafe { destroy(obj, free) }
    }
}
