//! Guard pages: touching one kills the process with `SIGSEGV`, touching the
//! mapping next to it does not.

use std::os::unix::process::ExitStatusExt;

use mmap_alloc::MapAlloc;

use crate::child;

const LEN: usize = 3 * 4096 + 100;

/// In a child: maps with guards, then touches the byte chosen by `role`.
fn touch(role: &str) {
    let map = MapAlloc::builder().guard_pages(1, 1).build().unwrap();
    let p = map.map(LEN, 4096).unwrap();
    let page = map.page_size();
    let end = map.mapped_size(LEN).unwrap();
    let offset: isize = match role {
        "first" => 0,
        "last" => end as isize - 1,
        "before" => -1,
        "after" => end as isize,
        "after_end_of_guard" => (end + page) as isize - 1,
        other => panic!("unknown role {other}"),
    };
    // SAFETY: inside the mapping this is an ordinary write; in a guard page
    // the kernel stops the process before anything is written. The address
    // is computed without leaving the reservation.
    unsafe { p.as_ptr().wrapping_offset(offset).write_volatile(1) };
    println!("wrote at offset {offset}");
}

fn outcome(role: &str) -> std::process::ExitStatus {
    if let Some(role) = child::role() {
        touch(&role);
        std::process::exit(0);
    }
    child::run("guards::touching_a_guard_page_raises_sigsegv", role)
}

#[test]
#[cfg_attr(miri, ignore = "needs a child process and a real page fault")]
fn touching_a_guard_page_raises_sigsegv() {
    for role in ["first", "last"] {
        let status = outcome(role);
        assert!(
            status.success(),
            "touching the mapping itself ({role}) must work: {status}"
        );
    }
    for role in ["before", "after", "after_end_of_guard"] {
        let status = outcome(role);
        assert_eq!(
            status.signal(),
            Some(libc::SIGSEGV),
            "touching the guard ({role}) must fault: {status}"
        );
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no mprotect or /proc")]
fn guards_survive_shrinking() {
    let map = MapAlloc::builder().guard_pages(1, 1).build().unwrap();
    let p = map.map(8 * 4096, 4096).unwrap();
    // SAFETY: `p` is a live mapping of 8 pages; shrinking keeps it at `p`
    // with 2 pages and a guard after; then it is unmapped with its new size.
    unsafe {
        p.as_ptr().write_bytes(5, 8 * 4096);
        let q = map.remap(p, 8 * 4096, 2 * 4096, 4096).unwrap();
        assert_eq!(q, p, "shrinking stays in place");
        assert!(
            std::slice::from_raw_parts(q.as_ptr(), 2 * 4096)
                .iter()
                .all(|&b| b == 5)
        );
        assert_eq!(
            resident_protection(q.byte_add(2 * 4096)),
            Some(false),
            "the guard moved down"
        );
        map.unmap(q, 2 * 4096).unwrap();
    }
}

/// Whether the page at `p` is accessible (`Some(true)`), a guard
/// (`Some(false)`), or not mapped (`None`), from `/proc/self/maps`.
fn resident_protection(p: std::ptr::NonNull<u8>) -> Option<bool> {
    let addr = p.as_ptr() as usize;
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| {
        let (range, rest) = line.split_once(' ')?;
        let (lo, hi) = range.split_once('-')?;
        let (lo, hi) = (
            usize::from_str_radix(lo, 16).ok()?,
            usize::from_str_radix(hi, 16).ok()?,
        );
        (lo <= addr && addr < hi).then(|| !rest.starts_with("---"))
    })
}
