//! Initialisers: how an object allocator constructs a new object.

use core::fmt;
use core::ptr::NonNull;

/// Constructs a `T` in place: the constructor an object allocator runs when
/// it needs a new object rather than a cached one.
///
/// Implemented for every `Fn() -> T` closure and function, for
/// [`DefaultInit`] (`T::default()`), and for [`NoInit`] (no construction, for
/// callers that take over the constructed-object contract).
///
/// # Safety
///
/// Implementors guarantee that when `init` returns normally, `slot` holds a
/// valid `T`, with the one exception of [`NoInit`], whose `unsafe`
/// constructor hands that duty to its caller. If `init` panics, `slot` is left
/// as uninitialised memory and nothing in it is dropped.
///
/// # Examples
///
/// ```
/// use core::ptr::NonNull;
/// use core::mem::MaybeUninit;
/// use object_alloc::Init;
///
/// let make = || String::from("constructed");
/// let mut slot = MaybeUninit::<String>::uninit();
/// // SAFETY: `slot` is valid for writes and aligned for a `String`.
/// unsafe { make.init(NonNull::from(&mut slot).cast()) };
/// // SAFETY: `init` left a valid `String` in `slot`.
/// assert_eq!(unsafe { slot.assume_init() }, "constructed");
/// ```
pub unsafe trait Init<T> {
    /// Writes a new `T` into `slot`.
    ///
    /// # Safety
    ///
    /// - `slot` is valid for writes of a `T` and aligned for it.
    /// - `slot` does not hold a `T` that still needs dropping (it is
    ///   overwritten without being dropped).
    ///
    /// ```
    /// # use core::{mem::MaybeUninit, ptr::NonNull};
    /// # use object_alloc::{DefaultInit, Init};
    /// let mut slot = MaybeUninit::<u32>::uninit();
    /// // SAFETY: `slot` is valid for writes and aligned.
    /// unsafe { Init::<u32>::init(&DefaultInit, NonNull::from(&mut slot).cast()) };
    /// // SAFETY: initialised just above.
    /// assert_eq!(unsafe { slot.assume_init() }, 0);
    /// ```
    unsafe fn init(&self, slot: NonNull<T>);
}

// SAFETY: the closure's result is a valid `T`, written into the slot; a panic
// in the closure happens before anything is written.
unsafe impl<T, F: Fn() -> T> Init<T> for F {
    #[inline]
    unsafe fn init(&self, slot: NonNull<T>) {
        let value = self();
        // SAFETY: the caller guarantees `slot` is valid for writes and aligned.
        unsafe { slot.write(value) }
    }
}

/// Constructs objects with `T::default()`.
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{DefaultInit, GlobalUntyped, ObjectAlloc, Typed};
///
/// let mut vecs = Typed::<Vec<u8>, _, _>::new(GlobalUntyped::system(Layout::new::<Vec<u8>>()), DefaultInit).unwrap();
/// let v = vecs.alloc().unwrap();
/// // SAFETY: a constructed `Vec` we own.
/// assert!(unsafe { v.as_ref() }.is_empty());
/// // SAFETY: from `vecs`, freed once, still a valid `Vec`.
/// unsafe { vecs.dealloc(v) };
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultInit;

// SAFETY: `T::default()` is a valid `T`, written into the slot; a panic in
// `default` happens before anything is written.
unsafe impl<T: Default> Init<T> for DefaultInit {
    #[inline]
    unsafe fn init(&self, slot: NonNull<T>) {
        let value = T::default();
        // SAFETY: the caller guarantees `slot` is valid for writes and aligned.
        unsafe { slot.write(value) }
    }
}

/// Constructs nothing: an allocator built with it hands out an object's
/// memory uninitialised the first time, and as the last owner left it after
/// that.
///
/// This is the escape hatch for objects the caller initialises itself (for
/// example, a packet buffer filled by a device) where running a constructor
/// first would be wasted work.
///
/// ```
/// use core::alloc::Layout;
/// use core::mem::MaybeUninit;
/// use object_alloc::{GlobalUntyped, NoInit, ObjectAlloc, Typed};
///
/// // SAFETY: `[u8; 1500]` has no destructor, and every object below is
/// // written before it is read or freed.
/// let no_init = unsafe { NoInit::new() };
/// let mut frames = Typed::<[u8; 1500], _, _>::new(GlobalUntyped::system(Layout::new::<[u8; 1500]>()), no_init).unwrap();
/// let frame = frames.alloc().unwrap();
/// // SAFETY: the frame is ours, valid for writes, and now initialised.
/// unsafe { frame.write([0xff; 1500]) };
/// // SAFETY: from `frames`, freed once, holding a valid array.
/// unsafe { frames.dealloc(frame) };
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NoInit(());

impl NoInit {
    /// Makes the initialiser that constructs nothing.
    ///
    /// # Safety
    ///
    /// The caller takes over the constructed-object contract for every
    /// allocator it builds with this value:
    /// - it writes a valid `T` into an object before reading the object;
    /// - it frees only objects that hold a valid `T`, since the allocator may
    ///   drop what it is given back, and may hand the object out again as it
    ///   was left.
    ///
    /// ```
    /// # use object_alloc::NoInit;
    /// // SAFETY: used only with types that are written before they are read.
    /// let no_init = unsafe { NoInit::new() };
    /// # let _ = no_init;
    /// ```
    pub const unsafe fn new() -> Self {
        NoInit(())
    }
}

impl fmt::Debug for NoInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NoInit")
    }
}

// SAFETY: a `NoInit` exists only through `NoInit::new`, whose caller took
// over the duty of writing a valid `T` before the object is read or freed.
unsafe impl<T> Init<T> for NoInit {
    #[inline]
    unsafe fn init(&self, _slot: NonNull<T>) {}
}
