//! An owning pointer that gives its object back to the allocator it came from.

use core::cell::RefCell;
use core::fmt;
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use crate::{AllocError, ObjectAlloc};

/// An owning pointer to an object from an [`ObjectAlloc`]; dropping the box
/// gives the object back to that allocator, in whatever state the owner left
/// it (the allocator may cache it constructed).
///
/// The box holds a *handle* `A` to the allocator: `&cache` or `Arc<cache>`
/// for a shared allocator, a [`LocalHandle`] for a single-threaded one. It is
/// `Send` when `T` and the handle are, so a box from a shared allocator may
/// be dropped on any thread:
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{DefaultInit, GlobalUntyped, ObjectBox, Typed};
///
/// let cache = Typed::<Vec<u32>, _, _>::new(GlobalUntyped::system(Layout::new::<Vec<u32>>()), DefaultInit)
///     .unwrap();
/// let mut list = ObjectBox::new_in(&cache).unwrap();
/// list.extend([1, 2, 3]);
/// let sum = std::thread::scope(|s| s.spawn(move || list.iter().sum::<u32>()).join().unwrap());
/// assert_eq!(sum, 6);
/// ```
///
/// A box of a single-threaded allocator cannot leave its thread:
///
/// ```compile_fail
/// use core::alloc::Layout;
/// use core::cell::RefCell;
/// use object_alloc::{DefaultInit, GlobalUntyped, LocalHandle, ObjectBox, Typed};
///
/// let cache = RefCell::new(Typed::<u32, _, _>::new(GlobalUntyped::system(Layout::new::<u32>()), DefaultInit).unwrap());
/// let b = ObjectBox::new_in(LocalHandle::new(&cache)).unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(b));
/// });
/// ```
pub struct ObjectBox<T, A: ObjectAlloc<T>> {
    obj: NonNull<T>,
    alloc: ManuallyDrop<A>,
    // The box owns a `T` (for drop check and variance).
    _owns: PhantomData<T>,
}

impl<T, A: ObjectAlloc<T>> ObjectBox<T, A> {
    /// Allocates a constructed object from `alloc` and boxes it, keeping the
    /// handle to give the object back.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{GlobalUntyped, ObjectBox, Typed};
    /// let cache = Typed::new(GlobalUntyped::system(Layout::new::<u64>()), || 42u64).unwrap();
    /// let answer = ObjectBox::new_in(&cache).unwrap();
    /// assert_eq!(*answer, 42);
    /// ```
    pub fn new_in(mut alloc: A) -> Result<Self, AllocError> {
        let obj = alloc.alloc()?;
        Ok(ObjectBox {
            obj,
            alloc: ManuallyDrop::new(alloc),
            _owns: PhantomData,
        })
    }

    /// Allocates an object from `alloc`, replaces its contents with `value`
    /// (dropping what the allocator constructed there), and boxes it.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, ObjectBox, Typed};
    /// let cache = Typed::<String, _, _>::new(GlobalUntyped::system(Layout::new::<String>()), DefaultInit).unwrap();
    /// let name = ObjectBox::new_with(&cache, String::from("slab")).unwrap();
    /// assert_eq!(*name, "slab");
    /// ```
    pub fn new_with(alloc: A, value: T) -> Result<Self, AllocError> {
        let mut boxed = Self::new_in(alloc)?;
        *boxed = value;
        Ok(boxed)
    }

    /// Leaks the box into its object pointer and allocator handle, without
    /// giving the object back.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, ObjectAlloc, ObjectBox, Typed};
    /// let cache = Typed::<u8, _, _>::new(GlobalUntyped::system(Layout::new::<u8>()), DefaultInit).unwrap();
    /// let (obj, mut handle) = ObjectBox::into_raw(ObjectBox::new_in(&cache).unwrap());
    /// // SAFETY: `obj` came from `cache` through `handle` and is freed once.
    /// unsafe { handle.dealloc(obj) };
    /// ```
    pub fn into_raw(boxed: Self) -> (NonNull<T>, A) {
        let mut boxed = ManuallyDrop::new(boxed);
        // SAFETY: `boxed` is never used or dropped again, so the handle is
        // moved out exactly once.
        let alloc = unsafe { ManuallyDrop::take(&mut boxed.alloc) };
        (boxed.obj, alloc)
    }

    /// Boxes an object previously taken out with [`into_raw`](Self::into_raw)
    /// or allocated from `alloc` directly.
    ///
    /// # Safety
    ///
    /// - `obj` was allocated from the allocator `alloc` is a handle to, and
    ///   has not been freed.
    /// - `obj` holds a valid `T`, and nothing else owns it.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, ObjectAlloc, ObjectBox, Typed};
    /// let cache = Typed::<u8, _, _>::new(GlobalUntyped::system(Layout::new::<u8>()), DefaultInit).unwrap();
    /// let mut handle = &cache;
    /// let obj = handle.alloc().unwrap();
    /// // SAFETY: `obj` is a live object of `cache`, owned by nobody else.
    /// let boxed = unsafe { ObjectBox::from_raw(obj, handle) };
    /// assert_eq!(*boxed, 0);
    /// ```
    pub unsafe fn from_raw(obj: NonNull<T>, alloc: A) -> Self {
        ObjectBox {
            obj,
            alloc: ManuallyDrop::new(alloc),
            _owns: PhantomData,
        }
    }

    /// The allocator handle the object goes back to.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, ObjectBox, Typed};
    /// let cache = Typed::<u8, _, _>::new(GlobalUntyped::system(Layout::new::<u8>()), DefaultInit).unwrap();
    /// let boxed = ObjectBox::new_in(&cache).unwrap();
    /// assert!(core::ptr::eq(*ObjectBox::allocator(&boxed), &cache));
    /// ```
    pub fn allocator(boxed: &Self) -> &A {
        &boxed.alloc
    }

    /// The object's address, without giving up ownership.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, ObjectBox, Typed};
    /// let cache = Typed::<u8, _, _>::new(GlobalUntyped::system(Layout::new::<u8>()), DefaultInit).unwrap();
    /// let boxed = ObjectBox::new_in(&cache).unwrap();
    /// assert_eq!(ObjectBox::as_ptr(&boxed).as_ptr().cast_const(), &*boxed as *const u8);
    /// ```
    pub fn as_ptr(boxed: &Self) -> NonNull<T> {
        boxed.obj
    }
}

impl<T, A: ObjectAlloc<T>> Drop for ObjectBox<T, A> {
    fn drop(&mut self) {
        // SAFETY: the handle is taken once, here, and the box is not used
        // again.
        let mut alloc = unsafe { ManuallyDrop::take(&mut self.alloc) };
        // SAFETY: the box owns `obj`, a live object of the allocator `alloc`
        // is a handle to, holding a valid `T` (safe code cannot make it
        // otherwise); it is freed once.
        unsafe { alloc.dealloc(self.obj) }
    }
}

impl<T, A: ObjectAlloc<T>> Deref for ObjectBox<T, A> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the box owns a valid `T` for as long as it lives.
        unsafe { self.obj.as_ref() }
    }
}

impl<T, A: ObjectAlloc<T>> DerefMut for ObjectBox<T, A> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the box owns a valid `T`, and `&mut self` makes this the
        // only access.
        unsafe { self.obj.as_mut() }
    }
}

impl<T: fmt::Debug, A: ObjectAlloc<T>> fmt::Debug for ObjectBox<T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display, A: ObjectAlloc<T>> fmt::Display for ObjectBox<T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

// SAFETY: the box owns its `T` and its handle; sending it sends both, and the
// object is given back through the handle on the receiving thread, which the
// handle allows when it is `Send` (a `&A` of a shared allocator is).
unsafe impl<T: Send, A: ObjectAlloc<T> + Send> Send for ObjectBox<T, A> {}

// SAFETY: `&ObjectBox` gives out only `&T` and `&A`.
unsafe impl<T: Sync, A: ObjectAlloc<T> + Sync> Sync for ObjectBox<T, A> {}

/// A copyable handle to a single-threaded allocator in a [`RefCell`], so
/// that several [`ObjectBox`]es can return their objects to it.
///
/// Each call borrows the allocator mutably for the length of the call. An
/// allocator call that re-enters the same allocator through a handle (a
/// constructor that allocates from its own cache, or a destructor run by
/// `dealloc` that drops a box of the same cache) finds it borrowed and
/// panics; allocators that cache objects constructed run no destructor on
/// `dealloc`.
///
/// ```
/// use core::alloc::Layout;
/// use core::cell::RefCell;
/// use object_alloc::{DefaultInit, GlobalUntyped, LocalHandle, ObjectBox, Typed};
///
/// let cache = RefCell::new(Typed::<u64, _, _>::new(GlobalUntyped::system(Layout::new::<u64>()), DefaultInit).unwrap());
/// let a = ObjectBox::new_in(LocalHandle::new(&cache)).unwrap();
/// let b = ObjectBox::new_in(LocalHandle::new(&cache)).unwrap();
/// assert_ne!(ObjectBox::as_ptr(&a), ObjectBox::as_ptr(&b));
/// ```
pub struct LocalHandle<'a, A> {
    alloc: &'a RefCell<A>,
}

impl<'a, A> LocalHandle<'a, A> {
    /// A handle to the allocator in `alloc`.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use core::cell::RefCell;
    /// # use object_alloc::{DefaultInit, GlobalUntyped, LocalHandle, Typed};
    /// let cache = RefCell::new(Typed::<u8, _, _>::new(GlobalUntyped::system(Layout::new::<u8>()), DefaultInit).unwrap());
    /// let handle = LocalHandle::new(&cache);
    /// # let _ = handle;
    /// ```
    pub const fn new(alloc: &'a RefCell<A>) -> Self {
        LocalHandle { alloc }
    }
}

impl<A> Clone for LocalHandle<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A> Copy for LocalHandle<'_, A> {}

impl<A> fmt::Debug for LocalHandle<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalHandle")
            .field("alloc", &(self.alloc as *const RefCell<A>))
            .finish()
    }
}

// SAFETY: forwards each call to the one allocator in the cell; the borrow
// makes each call exclusive, and `RefCell` is `!Sync`, so the handle never
// leaves the allocator's thread.
unsafe impl<T, A: ObjectAlloc<T>> ObjectAlloc<T> for LocalHandle<'_, A> {
    #[inline]
    fn alloc(&mut self) -> Result<NonNull<T>, AllocError> {
        self.alloc.borrow_mut().alloc()
    }

    #[inline]
    unsafe fn dealloc(&mut self, obj: NonNull<T>) {
        // SAFETY: forwarded from the caller.
        unsafe { self.alloc.borrow_mut().dealloc(obj) }
    }
}
