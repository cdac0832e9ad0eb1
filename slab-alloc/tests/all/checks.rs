//! The checks on free: each misuse is found, with the right kind and a
//! message naming the cache and the address, through `try_dealloc`, through
//! the error hook, and (double free) as the default hook's abort in a child
//! process.

use core::alloc::Layout;
use std::cell::RefCell;

use object_alloc::{GlobalUntyped, ObjectAlloc, UntypedObjectAlloc};
use slab_alloc::{FreeError, FreeErrorKind, SlabBuilder, UntypedSlabAlloc, slab_layout_for};

use crate::child;

const OBJECT: Layout = match Layout::from_size_align(48, 16) {
    Ok(l) => l,
    Err(_) => panic!(),
};

fn cache(name: &'static str) -> UntypedSlabAlloc<GlobalUntyped<std::alloc::System>> {
    SlabBuilder::new(name)
        .layout(OBJECT)
        .build_untyped(GlobalUntyped::system(slab_layout_for(OBJECT)))
        .unwrap()
}

#[test]
fn foreign_address() {
    let mut a = cache("foreign");
    let keep = a.alloc().unwrap();
    let mut outside = [0u8; 64];
    let ptr = core::ptr::NonNull::from(&mut outside).cast::<u8>();
    // SAFETY: the checked free takes any address (the `alloc` feature is on).
    let err = unsafe { a.try_dealloc(ptr) }.unwrap_err();
    assert_eq!(err.kind, FreeErrorKind::NotManaged);
    assert_eq!((err.cache, err.addr), ("foreign", ptr.addr().get()));
    let msg = err.to_string();
    assert!(
        msg.contains("`foreign`") && msg.contains(&format!("{:#x}", ptr.addr().get())),
        "{msg}"
    );
    assert!(msg.contains("not managed by this cache"), "{msg}");
    // SAFETY: from `a`, freed once.
    unsafe { a.dealloc(keep) };
}

#[test]
fn interior_pointer() {
    let mut a = cache("interior");
    let obj = a.alloc().unwrap();
    for offset in [1, 8, 47] {
        // SAFETY: inside the object; the checked free takes any address.
        let err = unsafe { a.try_dealloc(obj.add(offset)) }.unwrap_err();
        assert_eq!(
            err.kind,
            FreeErrorKind::Interior {
                object: obj.addr().get()
            }
        );
        assert!(err.to_string().contains("not at its start"), "{err}");
    }
    // The slab header is no object either.
    let base = obj.map_addr(|a| {
        core::num::NonZeroUsize::new(a.get() & !(slab_layout_for(OBJECT).size() - 1)).unwrap()
    });
    // SAFETY: the slab's base; the checked free takes any address.
    let err = unsafe { a.try_dealloc(base) }.unwrap_err();
    assert_eq!(err.kind, FreeErrorKind::NotAnObject);
    // SAFETY: from `a`, freed once; nothing above freed it.
    unsafe { a.try_dealloc(obj) }.unwrap();
    a.check_invariants();
}

#[test]
fn double_free() {
    let mut a = cache("double");
    let obj = a.alloc().unwrap();
    let other = a.alloc().unwrap();
    // SAFETY: from `a`, freed once.
    unsafe { a.try_dealloc(obj) }.unwrap();
    // SAFETY: the checked free takes any address.
    let err = unsafe { a.try_dealloc(obj) }.unwrap_err();
    assert_eq!(err.kind, FreeErrorKind::DoubleFree);
    assert!(err.to_string().contains("double free"), "{err}");
    // The cache is unharmed: the object comes back once.
    let again = a.alloc().unwrap();
    assert_eq!(again, obj);
    let next = a.alloc().unwrap();
    assert_ne!(next, obj);
    for p in [again, next, other] {
        // SAFETY: from `a`, freed once.
        unsafe { a.try_dealloc(p) }.unwrap();
    }
    assert_eq!(a.stats().objects_live, 0);
}

#[test]
fn other_cache() {
    let mut a = cache("first");
    let mut b = cache("second");
    let obj = b.alloc().unwrap();
    // SAFETY: the checked free takes any address.
    let err = unsafe { a.try_dealloc(obj) }.unwrap_err();
    assert_eq!(err.kind, FreeErrorKind::OtherCache { other: "second" });
    assert_eq!(err.cache, "first");
    assert!(err.to_string().contains("another cache, `second`"), "{err}");
    // SAFETY: from `b`, freed once.
    unsafe { b.dealloc(obj) };
}

#[test]
fn other_cache_of_another_slab_size() {
    let mut a = cache("small-slabs");
    let big = Layout::from_size_align(1 << 20, 1 << 20).unwrap();
    let mut b = SlabBuilder::new("big-slabs")
        .layout(OBJECT)
        .build_untyped(GlobalUntyped::system(big))
        .unwrap();
    let obj = b.alloc().unwrap();
    // SAFETY: the checked free takes any address.
    let err = unsafe { a.try_dealloc(obj) }.unwrap_err();
    // Not in a's slabs; the registry finds it under one of the slab sizes
    // in use.
    assert_eq!(err.kind, FreeErrorKind::OtherCache { other: "big-slabs" });
    // SAFETY: from `b`, freed once.
    unsafe { b.dealloc(obj) };
}

thread_local! {
    static SEEN: RefCell<Vec<FreeError>> = const { RefCell::new(Vec::new()) };
}

fn record(err: &FreeError) {
    SEEN.with(|s| s.borrow_mut().push(*err));
}

#[test]
fn hook_sees_every_misuse() {
    let mut a = SlabBuilder::new("hooked")
        .error_hook(record)
        .build_default::<u64, _>(GlobalUntyped::system(slab_layout_for(Layout::new::<u64>())))
        .unwrap();
    let mut b = SlabBuilder::new("elsewhere")
        .build_default::<u64, _>(GlobalUntyped::system(slab_layout_for(Layout::new::<u64>())))
        .unwrap();
    let obj = a.alloc().unwrap();
    let theirs = b.alloc().unwrap();
    let mut local = 0u64;
    // SAFETY: each bad free goes to the hook, which records it and returns;
    // the cache ignores it. The good free is from `a`, once.
    unsafe {
        a.dealloc(obj.cast::<u8>().add(4).cast());
        a.dealloc(core::ptr::NonNull::from(&mut local));
        a.dealloc(theirs);
        a.dealloc(obj);
        a.dealloc(obj);
    }
    let kinds: Vec<_> = SEEN.with(|s| s.borrow().iter().map(|e| (e.cache, e.kind)).collect());
    assert_eq!(
        kinds,
        [
            (
                "hooked",
                FreeErrorKind::Interior {
                    object: obj.addr().get()
                }
            ),
            ("hooked", FreeErrorKind::NotManaged),
            ("hooked", FreeErrorKind::OtherCache { other: "elsewhere" }),
            ("hooked", FreeErrorKind::DoubleFree),
        ]
    );
    // SAFETY: from `b`, freed once.
    unsafe { b.dealloc(theirs) };
}

#[test]
#[cfg_attr(miri, ignore = "starts a child process")]
fn double_free_aborts_with_message() {
    if child::role().as_deref() == Some("double-free") {
        let mut a = cache("aborting");
        let obj = a.alloc().unwrap();
        eprintln!("object at {:#x}", obj.addr().get());
        // SAFETY: deliberately a double free: the default hook aborts.
        unsafe {
            a.dealloc(obj);
            a.dealloc(obj);
        }
        unreachable!("the second free returned");
    }
    let out = child::run("checks::double_free_aborts_with_message", "double-free");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child did not abort: {stderr}");
    let addr = stderr
        .lines()
        .find_map(|l| l.strip_prefix("object at "))
        .expect("the child printed the address");
    let expected = format!("slab-alloc: cache `aborting`: bad free of {addr}: double free");
    assert!(stderr.contains(&expected), "stderr was: {stderr}");
}

#[test]
fn overwritten_header_is_reported() {
    let mut a = cache("overrun");
    let obj = a.alloc().unwrap();
    let slab_size = slab_layout_for(OBJECT).size();
    // The header's tag word (after four `u32` counters), reached the way an
    // overrun from below would reach it.
    let tag = obj
        .map_addr(|x| core::num::NonZeroUsize::new((x.get() & !(slab_size - 1)) + 16).unwrap())
        .cast::<usize>();
    // SAFETY: the tag lies inside the slab that `obj`'s pointer may reach;
    // we keep its old value to put back.
    let old = unsafe { tag.read() };
    // SAFETY: as above.
    unsafe { tag.write(old ^ 1) };
    // SAFETY: the checked free takes any address.
    let err = unsafe { a.try_dealloc(obj) }.unwrap_err();
    assert_eq!(err.kind, FreeErrorKind::CorruptHeader);
    assert!(err.to_string().contains("header overwritten"), "{err}");
    // SAFETY: as above.
    unsafe { tag.write(old) };
    // SAFETY: from `a`, freed once.
    unsafe { a.try_dealloc(obj) }.unwrap();
}
