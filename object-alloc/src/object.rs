//! Typed object allocators: caches of constructed objects.

use core::ptr::NonNull;

use crate::AllocError;

/// An allocator that hands out *constructed* objects of type `T`, used
/// through `&mut self`.
///
/// # The constructed-object contract
///
/// Every object `alloc` returns holds a valid `T`: either freshly built by the
/// allocator's initialiser, or an object a caller gave back earlier, exactly
/// as it was given back. An allocator may therefore keep freed objects in
/// their constructed state and hand them out again without running the
/// constructor (Bonwick's *object caching*), which is what makes it cheap to
/// allocate objects whose construction is expensive (a lock, a buffer, a
/// table) or whose address must stay valid for readers (type stability).
///
/// In return, a caller hands back only valid `T`s: the object may have been
/// mutated, but it must still be a `T` that can be dropped. Callers that want
/// every allocation to look fresh restore the object's initial state before
/// freeing it, as Bonwick's clients do.
///
/// The allocator drops every object it constructed exactly once: either when
/// it decides not to keep a freed object, or when the allocator itself is
/// dropped. Objects a caller still holds when the allocator is dropped are
/// not dropped by it (the caller owns them), and their memory may be gone.
///
/// # Safety
///
/// Implementors guarantee, for every allocator value:
/// - An object returned by `alloc` is aligned for `T`, holds a valid `T` as
///   described above, and stays valid for reads and writes until it is passed
///   to `dealloc` or the allocator is dropped; moving the allocator does not
///   invalidate it.
/// - Objects of non-zero size that are live at the same time do not overlap.
/// - Each constructed `T` is dropped at most once, and only when no caller
///   holds it.
///
/// # Examples
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, ObjectAlloc, Typed};
///
/// let mut words = Typed::new(GlobalUntyped::system(Layout::new::<Vec<u8>>()), || {
///     Vec::<u8>::with_capacity(64)
/// })
/// .unwrap();
/// let buf = words.alloc().unwrap();
/// // SAFETY: `buf` holds a constructed `Vec<u8>` that we own until freed.
/// assert!(unsafe { buf.as_ref() }.capacity() >= 64);
/// // SAFETY: `buf` came from `words`, still holds a valid `Vec`, and is freed once.
/// unsafe { words.dealloc(buf) };
/// ```
pub unsafe trait ObjectAlloc<T> {
    /// Hands out one constructed object, or [`AllocError`] when the memory
    /// source is exhausted.
    ///
    /// If the initialiser panics, the panic propagates and the allocator stays
    /// usable.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, ObjectAlloc, Typed};
    /// let mut counters = Typed::<u64, _, _>::new(GlobalUntyped::system(Layout::new::<u64>()), DefaultInit).unwrap();
    /// let c = counters.alloc().unwrap();
    /// // SAFETY: a constructed `u64` we own.
    /// assert_eq!(unsafe { *c.as_ptr() }, 0);
    /// // SAFETY: from `counters`, freed once.
    /// unsafe { counters.dealloc(c) };
    /// ```
    fn alloc(&mut self) -> Result<NonNull<T>, AllocError>;

    /// Takes back an object; the allocator may keep it constructed for a later
    /// `alloc` or drop it.
    ///
    /// # Safety
    ///
    /// - `obj` was returned by `alloc` on this allocator, or on another handle
    ///   to the same allocator (a reference, `Box` or `Arc` of it).
    /// - `obj` has not been passed to `dealloc` since then.
    /// - `obj` holds a valid `T`.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, ObjectAlloc, Typed};
    /// let mut names = Typed::<String, _, _>::new(GlobalUntyped::system(Layout::new::<String>()), DefaultInit).unwrap();
    /// let name = names.alloc().unwrap();
    /// // SAFETY: a constructed `String` we own; it stays a valid `String`.
    /// unsafe { (*name.as_ptr()).push_str("slab") };
    /// // SAFETY: from `names`, freed once, still a valid `String`.
    /// unsafe { names.dealloc(name) };
    /// ```
    unsafe fn dealloc(&mut self, obj: NonNull<T>);
}

/// An [`ObjectAlloc`] that many threads may call at once through `&self`.
///
/// Every shared allocator is also an [`ObjectAlloc`] (the supertrait), and a
/// reference to one is an `ObjectAlloc` by a blanket impl; that reference is
/// what an [`ObjectBox`](crate::ObjectBox) holds to return its object from
/// any thread.
///
/// # Safety
///
/// Implementors guarantee everything [`ObjectAlloc`] requires, for calls made
/// from any number of threads at once through `&self`; in particular an object
/// may be freed on a thread other than the one that allocated it.
///
/// # Examples
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{DefaultInit, GlobalUntyped, ObjectBox, Typed};
///
/// let cache = Typed::<[u64; 8], _, _>::new(GlobalUntyped::system(Layout::new::<[u64; 8]>()), DefaultInit)
///     .unwrap();
/// let boxed = ObjectBox::new_in(&cache).unwrap();
/// // The box goes back to `cache` from another thread.
/// std::thread::scope(|s| {
///     s.spawn(move || drop(boxed));
/// });
/// ```
pub unsafe trait SharedObjectAlloc<T>: ObjectAlloc<T> + Sync {
    /// Hands out one constructed object; callable from any thread.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, SharedObjectAlloc, Typed};
    /// let cache = Typed::<u32, _, _>::new(GlobalUntyped::system(Layout::new::<u32>()), DefaultInit).unwrap();
    /// let obj = SharedObjectAlloc::alloc(&cache).unwrap();
    /// // SAFETY: from `cache`, freed once, a valid `u32`.
    /// unsafe { SharedObjectAlloc::dealloc(&cache, obj) };
    /// ```
    fn alloc(&self) -> Result<NonNull<T>, AllocError>;

    /// Takes back an object, on any thread.
    ///
    /// # Safety
    ///
    /// - `obj` was returned by `alloc` on this allocator, or on another handle
    ///   to the same allocator.
    /// - `obj` has not been passed to `dealloc` since then.
    /// - `obj` holds a valid `T`.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, SharedObjectAlloc, Typed};
    /// let cache = Typed::<u32, _, _>::new(GlobalUntyped::system(Layout::new::<u32>()), DefaultInit).unwrap();
    /// let obj = cache.alloc().unwrap();
    /// // SAFETY: from `cache`, freed once, a valid `u32`.
    /// unsafe { cache.dealloc(obj) };
    /// ```
    unsafe fn dealloc(&self, obj: NonNull<T>);
}

// SAFETY: forwards to a shared allocator, which upholds the contract for
// calls through `&self` from any thread, so also for calls from one.
unsafe impl<T, A: SharedObjectAlloc<T> + ?Sized> ObjectAlloc<T> for &A {
    #[inline]
    fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
        SharedObjectAlloc::alloc(*self)
    }

    #[inline]
    unsafe fn dealloc(&mut self, obj: NonNull<T>) {
        // SAFETY: forwarded from the caller.
        unsafe { SharedObjectAlloc::dealloc(*self, obj) }
    }
}

// SAFETY: forwards to a shared allocator; `&A` is `Sync` because `A` is.
unsafe impl<T, A: SharedObjectAlloc<T> + ?Sized> SharedObjectAlloc<T> for &A {
    #[inline]
    fn alloc(&self) -> Result<NonNull<T>, AllocError> {
        SharedObjectAlloc::alloc(*self)
    }

    #[inline]
    unsafe fn dealloc(&self, obj: NonNull<T>) {
        // SAFETY: forwarded from the caller.
        unsafe { SharedObjectAlloc::dealloc(*self, obj) }
    }
}

// SAFETY: forwards every call to the allocator behind the unique reference.
unsafe impl<T, A: ObjectAlloc<T> + ?Sized> ObjectAlloc<T> for &mut A {
    #[inline]
    fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
        (**self).alloc()
    }

    #[inline]
    unsafe fn dealloc(&mut self, obj: NonNull<T>) {
        // SAFETY: forwarded from the caller.
        unsafe { (**self).dealloc(obj) }
    }
}

#[cfg(feature = "alloc")]
mod owned {
    use alloc::boxed::Box;
    use alloc::sync::Arc;

    use super::*;

    // SAFETY: forwards every call to the boxed allocator, which does not move
    // when the box does.
    unsafe impl<T, A: ObjectAlloc<T> + ?Sized> ObjectAlloc<T> for Box<A> {
        #[inline]
        fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
            (**self).alloc()
        }

        #[inline]
        unsafe fn dealloc(&mut self, obj: NonNull<T>) {
            // SAFETY: forwarded from the caller.
            unsafe { (**self).dealloc(obj) }
        }
    }

    // SAFETY: forwards to the boxed shared allocator.
    unsafe impl<T, A: SharedObjectAlloc<T> + ?Sized> SharedObjectAlloc<T> for Box<A> {
        #[inline]
        fn alloc(&self) -> Result<NonNull<T>, AllocError> {
            SharedObjectAlloc::alloc(&**self)
        }

        #[inline]
        unsafe fn dealloc(&self, obj: NonNull<T>) {
            // SAFETY: forwarded from the caller.
            unsafe { SharedObjectAlloc::dealloc(&**self, obj) }
        }
    }

    // SAFETY: forwards to the shared allocator every clone of the `Arc`
    // points to, so an object may be freed through any clone.
    unsafe impl<T, A: SharedObjectAlloc<T> + ?Sized> ObjectAlloc<T> for Arc<A> {
        #[inline]
        fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
            SharedObjectAlloc::alloc(&**self)
        }

        #[inline]
        unsafe fn dealloc(&mut self, obj: NonNull<T>) {
            // SAFETY: forwarded from the caller.
            unsafe { SharedObjectAlloc::dealloc(&**self, obj) }
        }
    }

    // SAFETY: as above. `Arc<A>` is `Sync` only when `A` is `Send` as well as
    // `Sync`, hence the extra bound.
    unsafe impl<T, A: SharedObjectAlloc<T> + Send + ?Sized> SharedObjectAlloc<T> for Arc<A> {
        #[inline]
        fn alloc(&self) -> Result<NonNull<T>, AllocError> {
            SharedObjectAlloc::alloc(&**self)
        }

        #[inline]
        unsafe fn dealloc(&self, obj: NonNull<T>) {
            // SAFETY: forwarded from the caller.
            unsafe { SharedObjectAlloc::dealloc(&**self, obj) }
        }
    }
}
