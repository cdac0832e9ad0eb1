//! File-backed mappings: data goes to the file, and unmapping or
//! decommitting frees the file's disk blocks.

use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use mmap_alloc::MapAlloc;

fn temp_file(name: &str) -> (std::fs::File, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("mmap-alloc-{name}-{}", std::process::id()));
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    (file, path)
}

/// Disk blocks the file holds, in bytes.
fn allocated(file: &std::fs::File) -> u64 {
    use std::os::unix::fs::MetadataExt;
    file.metadata().unwrap().blocks() * 512
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no file mappings")]
fn writes_reach_the_file_and_each_mapping_gets_its_own_region() {
    let (file, path) = temp_file("regions");
    let map = MapAlloc::builder()
        .file_descriptor(file.as_raw_fd())
        .build()
        .unwrap();
    let a = map.map(8192, 4096).unwrap();
    let b = map.map(4096, 1 << 16).unwrap();
    // SAFETY: `a` and `b` are live mappings of 8 KiB and 4 KiB.
    unsafe {
        a.as_ptr().write_bytes(b'a', 8192);
        b.as_ptr().write_bytes(b'b', 4096);
    }
    let mut buf = vec![0; 12288];
    file.read_exact_at(&mut buf, 0).unwrap();
    assert!(
        buf[..8192].iter().all(|&c| c == b'a'),
        "the first mapping is the file's first 8 KiB"
    );
    assert!(
        buf[8192..].iter().all(|&c| c == b'b'),
        "the second follows it"
    );
    // SAFETY: both are live mappings, unmapped once with their sizes.
    unsafe {
        map.unmap(a, 8192).unwrap();
        map.unmap(b, 4096).unwrap();
    }
    std::fs::remove_file(path).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no file mappings")]
fn decommit_and_unmap_free_the_disk_blocks_and_read_back_zero() {
    const LEN: usize = 4 << 20;
    let (file, path) = temp_file("blocks");
    let map = MapAlloc::builder().file(&path).build().unwrap();
    let p = map.map(LEN, 4096).unwrap();
    // SAFETY: `p` is a live mapping of `LEN` bytes; the decommitted half is
    // not needed afterwards.
    unsafe {
        p.as_ptr().write_bytes(7, LEN);
        let full = allocated(&file);
        assert!(full >= LEN as u64, "fallocate reserved the blocks: {full}");
        map.decommit(p, LEN / 2).unwrap();
        let half = allocated(&file);
        assert!(
            half <= full - (LEN / 2) as u64 + 65536,
            "decommit freed blocks: {full} -> {half}"
        );
        assert!(
            std::slice::from_raw_parts(p.as_ptr(), LEN / 2)
                .iter()
                .all(|&b| b == 0)
        );
        map.unmap(p, LEN).unwrap();
    }
    assert!(
        allocated(&file) <= 65536,
        "unmap freed the rest: {}",
        allocated(&file)
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no file mappings")]
fn an_existing_file_is_appended_to_not_overwritten() {
    let (file, path) = temp_file("append");
    file.write_all_at(b"keep me", 0).unwrap();
    let map = MapAlloc::builder().file(&path).build().unwrap();
    let p = map.map(4096, 1).unwrap();
    // SAFETY: `p` is a live one-page mapping.
    unsafe {
        p.as_ptr().write_bytes(b'x', 4096);
        map.unmap(p, 4096).unwrap();
    }
    let mut head = [0; 7];
    file.read_exact_at(&mut head, 0).unwrap();
    assert_eq!(&head, b"keep me");
    std::fs::remove_file(path).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no file mappings")]
fn growth_of_a_file_mapping_keeps_contents() {
    let (_file, path) = temp_file("grow");
    let map = MapAlloc::builder().file(&path).build().unwrap();
    let p = map.map(4096, 1).unwrap();
    // SAFETY: `p` is a live one-page mapping, then `q` one of 1 MiB.
    unsafe {
        p.as_ptr().write_bytes(9, 4096);
        let q = map.remap(p, 4096, 1 << 20, 4096).unwrap();
        assert!(
            std::slice::from_raw_parts(q.as_ptr(), 4096)
                .iter()
                .all(|&b| b == 9)
        );
        assert!(
            std::slice::from_raw_parts(q.as_ptr().add(4096), (1 << 20) - 4096)
                .iter()
                .all(|&b| b == 0)
        );
        map.unmap(q, 1 << 20).unwrap();
    }
    std::fs::remove_file(path).unwrap();
}
