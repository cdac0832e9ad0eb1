//! Bad input and kernel refusals come back as errors (null through
//! `GlobalAlloc`), never as a panic or a bad pointer.

use std::alloc::{GlobalAlloc, Layout};

use mmap_alloc::{BuildError, HugePages, MapAlloc, MapError};

use crate::child;

#[test]
fn zero_size_is_an_error() {
    assert_eq!(MapAlloc::new().map(0, 1), Err(MapError::ZeroSize));
    let guarded = MapAlloc::builder().guard_pages(1, 1).build().unwrap();
    assert_eq!(guarded.map(0, 4096), Err(MapError::ZeroSize));
}

#[test]
fn an_alignment_that_is_not_a_power_of_two_is_an_error() {
    for align in [0, 3, 12, 4097, (1 << 21) + 4096] {
        assert_eq!(
            MapAlloc::new().map(4096, align),
            Err(MapError::BadAlignment { align }),
            "align {align}"
        );
    }
}

#[test]
fn sizes_that_overflow_when_rounded_are_errors() {
    let map = MapAlloc::new();
    for size in [usize::MAX, usize::MAX - 4094, isize::MAX as usize + 1] {
        assert_eq!(
            map.map(size, 1),
            Err(MapError::TooLarge { size }),
            "size {size:#x}"
        );
    }
    // The alignment slack and the guards count too.
    let size = isize::MAX as usize - 8192;
    assert_eq!(map.map(size, 1 << 40), Err(MapError::TooLarge { size }));
    let guarded = MapAlloc::builder().guard_pages(4, 4).build().unwrap();
    assert_eq!(guarded.map(size, 4096), Err(MapError::TooLarge { size }));
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not emulate the kernel's refusals")]
fn a_kernel_refusal_names_the_call_and_errno() {
    // 256 TiB is more than a process's lower address space (128 TiB with
    // 4-level page tables; 5-level tables only hand out more on request).
    let map = MapAlloc::new();
    let err = map.map(1 << 48, 4096).unwrap_err();
    assert!(
        matches!(err, MapError::Kernel { call: "mmap", .. }),
        "{err:?}"
    );
    assert_eq!(err.errno(), Some(libc::ENOMEM));
    assert!(
        err.to_string().contains("mmap failed with errno 12"),
        "{err}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri does not emulate the kernel's refusals")]
fn global_alloc_returns_null_for_what_it_cannot_serve() {
    let map = MapAlloc::new();
    let huge = Layout::from_size_align(isize::MAX as usize - 4096, 4096).unwrap();
    // SAFETY: a non-zero layout; a null result is what is checked.
    assert!(unsafe { map.alloc(huge) }.is_null());
    // SAFETY: `GlobalAlloc` callers must not pass zero sizes, but a null
    // answer is the safe one when they do.
    assert!(unsafe { map.alloc(Layout::new::<()>()) }.is_null());
}

#[test]
fn conflicting_settings_are_refused_with_a_reason() {
    let explicit = HugePages::Explicit { fallback: true };
    let err = MapAlloc::builder()
        .huge_pages(explicit)
        .guard_pages(0, 1)
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::GuardPagesWithHugeTlb);
    assert!(err.to_string().contains("guard pages"), "{err}");
    let err = MapAlloc::builder()
        .huge_pages(explicit)
        .file_descriptor(0)
        .build()
        .unwrap_err();
    assert_eq!(err, BuildError::FileWithHugeTlb);
    let err = MapAlloc::builder().file_descriptor(-1).build().unwrap_err();
    assert_eq!(
        err,
        BuildError::File {
            call: "fcntl(F_DUPFD_CLOEXEC)",
            errno: libc::EBADF
        }
    );
}

#[test]
fn unmapping_an_address_inside_a_page_is_refused() {
    let map = MapAlloc::new();
    let p = map.map(8192, 1).unwrap();
    // SAFETY: the misaligned calls are refused before the kernel is asked;
    // then `p` is unmapped with its size.
    unsafe {
        assert_eq!(
            map.unmap(p.byte_add(1), 4096),
            Err(MapError::Unaligned {
                addr: p.as_ptr() as usize + 1
            })
        );
        assert!(matches!(
            map.decommit(p.byte_add(100), 100),
            Err(MapError::Unaligned { .. })
        ));
        assert!(matches!(
            map.commit(p.byte_add(100), 100),
            Err(MapError::Unaligned { .. })
        ));
        map.unmap(p, 8192).unwrap();
    }
}

/// Out of memory under an address-space limit: every interface reports it,
/// and the process goes on (run in a child, since the limit is for the
/// whole process).
#[test]
#[cfg_attr(miri, ignore = "needs a child process and setrlimit")]
fn out_of_address_space_under_rlimit_as_is_an_error() {
    const LIMIT: u64 = 1 << 30;
    if child::role().as_deref() == Some("rlimit") {
        let limit = libc::rlimit {
            rlim_cur: LIMIT,
            rlim_max: LIMIT,
        };
        // SAFETY: `limit` is a valid `rlimit`.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
        let map = MapAlloc::new();
        let err = map.map(2 << 30, 4096).unwrap_err();
        assert_eq!(
            err,
            MapError::Kernel {
                call: "mmap",
                errno: libc::ENOMEM
            }
        );
        let aligned = map.map(512 << 20, 1 << 30).unwrap_err();
        assert_eq!(aligned.errno(), Some(libc::ENOMEM));
        // SAFETY: a non-zero layout; a null result is what is checked.
        assert!(unsafe { map.alloc(Layout::from_size_align(2 << 30, 4096).unwrap()) }.is_null());
        // Growing past the limit fails and keeps the old mapping.
        let p = map.map(4096, 1).unwrap();
        // SAFETY: `p` is a live one-page mapping of `map`.
        unsafe {
            p.as_ptr().write(9);
            assert_eq!(
                map.remap(p, 4096, 2 << 30, 1).unwrap_err().errno(),
                Some(libc::ENOMEM)
            );
            assert_eq!(p.as_ptr().read(), 9);
            map.unmap(p, 4096).unwrap();
        }
        // Small mappings still work.
        let q = map.map(1 << 20, 4096).unwrap();
        // SAFETY: `q` is a live mapping of 1 MiB.
        unsafe { map.unmap(q, 1 << 20).unwrap() };
        return;
    }
    let status = child::run(
        "errors::out_of_address_space_under_rlimit_as_is_an_error",
        "rlimit",
    );
    assert!(
        status.success(),
        "the child under RLIMIT_AS failed: {status}"
    );
}
