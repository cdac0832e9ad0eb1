//! The layouts and sizes the checks walk through.

use std::alloc::Layout;

fn grid(sizes: &[usize], aligns: &[usize]) -> Vec<Layout> {
    let mut layouts = Vec::with_capacity(sizes.len() * aligns.len());
    for &align in aligns {
        for &size in sizes {
            layouts.push(
                Layout::from_size_align(size, align)
                    .expect("sizes and alignments of the grid are valid"),
            );
        }
    }
    layouts
}

/// The object layouts an untyped allocator is checked with by default:
/// sizes from 1 byte to 64 KiB (powers of two, their neighbours and odd
/// sizes) crossed with alignments from 1 to 4 KiB.
///
/// Under Miri the grid is thinner, with the same extremes.
///
/// ```
/// let layouts = object_alloc_test::object_layouts();
/// assert!(layouts.iter().any(|l| l.size() == 1));
/// assert!(layouts.iter().any(|l| l.size() == 64 * 1024));
/// assert!(layouts.iter().any(|l| l.align() == 4096));
/// ```
pub fn object_layouts() -> Vec<Layout> {
    if cfg!(miri) {
        grid(&[1, 24, 65536], &[1, 64, 4096])
    } else {
        grid(
            &[
                1, 2, 3, 7, 8, 12, 16, 24, 40, 64, 100, 128, 250, 256, 1000, 1024, 2000, 4096,
                5000, 16384, 65536,
            ],
            &[1, 2, 8, 16, 64, 512, 4096],
        )
    }
}

/// A few layouts that stand for the grid in the long random sequences:
/// tiny, odd, cache-line aligned, medium, page-aligned, large.
pub(crate) fn sample(layouts: &[Layout]) -> Vec<Layout> {
    const WANTED: [(usize, usize); 6] = [
        (1, 1),
        (24, 8),
        (64, 64),
        (1000, 8),
        (4096, 4096),
        (65536, 8),
    ];
    let wanted: &[(usize, usize)] = if cfg!(miri) {
        &[(1, 1), (64, 64), (65536, 1)]
    } else {
        &WANTED
    };
    let mut picked: Vec<Layout> = wanted
        .iter()
        .filter_map(|&(size, align)| {
            layouts
                .iter()
                .copied()
                .find(|l| l.size() == size && l.align() == align)
        })
        .collect();
    if picked.is_empty() {
        // A caller's own list: take its ends and middle.
        let mut ends: Vec<Layout> = [0, layouts.len() / 2, layouts.len().saturating_sub(1)]
            .iter()
            .filter_map(|&i| layouts.get(i).copied())
            .collect();
        ends.dedup();
        picked = ends;
    }
    picked
}

/// Block sizes for general-purpose allocators, from 1 byte to 1 MiB: every
/// power of two with its neighbours, and sizes between.
pub(crate) fn general_sizes() -> Vec<usize> {
    if cfg!(miri) {
        return vec![1, 7, 8, 64, 100, 4096, 4097, 65536, 1 << 20];
    }
    let mut sizes = vec![
        1, 2, 3, 5, 7, 12, 24, 40, 48, 96, 100, 192, 384, 1000, 3000, 5000, 10_000, 100_000,
        1_000_000,
    ];
    for shift in 2..=20 {
        let p = 1usize << shift;
        sizes.extend([p - 1, p, p + 1]);
    }
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// Alignments for general-purpose allocators: 1 byte to 64 KiB.
pub(crate) fn general_aligns() -> Vec<usize> {
    if cfg!(miri) {
        vec![1, 8, 64, 4096, 65536]
    } else {
        (0..=16).map(|s| 1 << s).collect()
    }
}
