//! The zone's size classes: which class serves a request, and what each
//! class's slabs and magazines look like.
//!
//! Classes are 16 bytes apart up to 128 bytes, then eight to each doubling
//! (144, 160, …, 256, 288, …, 512, …, 256 KiB). Eight steps per doubling bound
//! the waste: a request above 128 bytes lands in a class less than 12.5%
//! larger than itself (`(c - r) / r < 1/8` since two neighbouring classes
//! differ by an eighth of the lower one), and a request of at most 128 bytes
//! wastes at most 15 bytes, the granule that malloc's 16-byte alignment
//! costs anyway. jemalloc uses four classes per doubling (up to 25% waste)
//! and mimalloc eight (J. Evans, *A scalable concurrent malloc(3)
//! implementation for FreeBSD*, 2006; D. Leijen et al., *Mimalloc*, 2019).

/// The number of size classes.
pub(crate) const CLASSES: usize = 96;

/// The largest request the classes serve; larger ones are large blocks.
pub(crate) const MAX_SMALL: usize = 262144;

/// The largest alignment the classes serve (a page); larger ones are large
/// blocks.
pub(crate) const MAX_SMALL_ALIGN: usize = 4096;

/// Each class's object size.
pub(crate) const SIZES: [usize; CLASSES] = [
    16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384,
    416, 448, 480, 512, 576, 640, 704, 768, 832, 896, 960, 1024, 1152, 1280, 1408, 1536, 1664,
    1792, 1920, 2048, 2304, 2560, 2816, 3072, 3328, 3584, 3840, 4096, 4608, 5120, 5632, 6144, 6656,
    7168, 7680, 8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384, 18432, 20480, 22528,
    24576, 26624, 28672, 30720, 32768, 36864, 40960, 45056, 49152, 53248, 57344, 61440, 65536,
    73728, 81920, 90112, 98304, 106496, 114688, 122880, 131072, 147456, 163840, 180224, 196608,
    212992, 229376, 245760, 262144,
];

/// Each class's name, for messages and statistics.
pub(crate) const NAMES: [&str; CLASSES] = [
    "slab-malloc 16 B",
    "slab-malloc 32 B",
    "slab-malloc 48 B",
    "slab-malloc 64 B",
    "slab-malloc 80 B",
    "slab-malloc 96 B",
    "slab-malloc 112 B",
    "slab-malloc 128 B",
    "slab-malloc 144 B",
    "slab-malloc 160 B",
    "slab-malloc 176 B",
    "slab-malloc 192 B",
    "slab-malloc 208 B",
    "slab-malloc 224 B",
    "slab-malloc 240 B",
    "slab-malloc 256 B",
    "slab-malloc 288 B",
    "slab-malloc 320 B",
    "slab-malloc 352 B",
    "slab-malloc 384 B",
    "slab-malloc 416 B",
    "slab-malloc 448 B",
    "slab-malloc 480 B",
    "slab-malloc 512 B",
    "slab-malloc 576 B",
    "slab-malloc 640 B",
    "slab-malloc 704 B",
    "slab-malloc 768 B",
    "slab-malloc 832 B",
    "slab-malloc 896 B",
    "slab-malloc 960 B",
    "slab-malloc 1024 B",
    "slab-malloc 1152 B",
    "slab-malloc 1280 B",
    "slab-malloc 1408 B",
    "slab-malloc 1536 B",
    "slab-malloc 1664 B",
    "slab-malloc 1792 B",
    "slab-malloc 1920 B",
    "slab-malloc 2048 B",
    "slab-malloc 2304 B",
    "slab-malloc 2560 B",
    "slab-malloc 2816 B",
    "slab-malloc 3072 B",
    "slab-malloc 3328 B",
    "slab-malloc 3584 B",
    "slab-malloc 3840 B",
    "slab-malloc 4096 B",
    "slab-malloc 4608 B",
    "slab-malloc 5120 B",
    "slab-malloc 5632 B",
    "slab-malloc 6144 B",
    "slab-malloc 6656 B",
    "slab-malloc 7168 B",
    "slab-malloc 7680 B",
    "slab-malloc 8192 B",
    "slab-malloc 9216 B",
    "slab-malloc 10240 B",
    "slab-malloc 11264 B",
    "slab-malloc 12288 B",
    "slab-malloc 13312 B",
    "slab-malloc 14336 B",
    "slab-malloc 15360 B",
    "slab-malloc 16384 B",
    "slab-malloc 18432 B",
    "slab-malloc 20480 B",
    "slab-malloc 22528 B",
    "slab-malloc 24576 B",
    "slab-malloc 26624 B",
    "slab-malloc 28672 B",
    "slab-malloc 30720 B",
    "slab-malloc 32768 B",
    "slab-malloc 36864 B",
    "slab-malloc 40960 B",
    "slab-malloc 45056 B",
    "slab-malloc 49152 B",
    "slab-malloc 53248 B",
    "slab-malloc 57344 B",
    "slab-malloc 61440 B",
    "slab-malloc 65536 B",
    "slab-malloc 73728 B",
    "slab-malloc 81920 B",
    "slab-malloc 90112 B",
    "slab-malloc 98304 B",
    "slab-malloc 106496 B",
    "slab-malloc 114688 B",
    "slab-malloc 122880 B",
    "slab-malloc 131072 B",
    "slab-malloc 147456 B",
    "slab-malloc 163840 B",
    "slab-malloc 180224 B",
    "slab-malloc 196608 B",
    "slab-malloc 212992 B",
    "slab-malloc 229376 B",
    "slab-malloc 245760 B",
    "slab-malloc 262144 B",
];

/// The alignment every object of class `k` has: the largest power of two
/// that divides its size, at most a page.
pub(crate) const fn class_align(k: usize) -> usize {
    let size = SIZES[k];
    let low = size & size.wrapping_neg();
    if low > MAX_SMALL_ALIGN {
        MAX_SMALL_ALIGN
    } else {
        low
    }
}

/// The slab size of class `k`, in 64 KiB slots: one up to 4 KiB objects
/// (at least 15 objects a slab), 4 up to 32 KiB (at least 7), 16 up to 128
/// KiB (at least 7) and 32 above (at least 7 of 256 KiB).
pub(crate) const fn slab_size(k: usize) -> usize {
    let slots = match SIZES[k] {
        0..=4096 => 1,
        4097..=32768 => 4,
        32769..=131072 => 16,
        _ => 32,
    };
    slots * super::chunk::SLOT
}

/// How many empty slabs class `k` keeps: two, or one for classes whose
/// slabs are a megabyte or more.
pub(crate) const fn max_empty_slabs(k: usize) -> usize {
    if slab_size(k) >= 1 << 20 { 1 } else { 2 }
}

/// How many objects a magazine of class `k` holds: many for small objects,
/// fewer for large ones, so that a thread's two magazines hold at most
/// about 256 KiB of one class below 32 KiB objects (1 MiB above).
pub(crate) const fn magazine_capacity(k: usize) -> usize {
    match SIZES[k] {
        0..=1024 => super::magazine::MAX_ROUNDS,
        1025..=4096 => 16,
        4097..=32768 => 4,
        _ => 2,
    }
}

/// Requests up to this size find their class in [`BY_SIXTEENTH`].
const LOOKUP_MAX: usize = 1024;

/// The class of each request size up to [`LOOKUP_MAX`], by `(size + 15) /
/// 16`: every class boundary up to there is a multiple of 16, so all sizes
/// with one index share a class. One load instead of the arithmetic.
static BY_SIXTEENTH: [u8; LOOKUP_MAX / 16 + 1] = {
    let mut t = [0u8; LOOKUP_MAX / 16 + 1];
    let mut i = 0;
    while i < t.len() {
        t[i] = class_by_arithmetic(i * 16) as u8;
        i += 1;
    }
    t
};

/// The smallest class whose size is at least `size`, for `size <=
/// MAX_SMALL`: from [`BY_SIXTEENTH`] up to 1 KiB, by arithmetic above.
#[inline]
pub(crate) fn class_of_size(size: usize) -> usize {
    match BY_SIXTEENTH.get((size + 15) >> 4) {
        Some(&k) => k as usize,
        None => class_by_arithmetic(size),
    }
}

/// [`class_of_size`] computed: up to 128 bytes a shift; above,
/// `floor(log2(size - 1))` picks the doubling and a shift the eighth
/// within it.
const fn class_by_arithmetic(size: usize) -> usize {
    if size <= 128 {
        if size == 0 { 0 } else { (size - 1) >> 4 }
    } else {
        let log = (usize::BITS - 1 - (size - 1).leading_zeros()) as usize;
        let step_shift = log - 3;
        let base = 1usize << log;
        let eighth = (size - base + (1 << step_shift) - 1) >> step_shift;
        8 + (log - 7) * 8 + eighth - 1
    }
}

/// The class for a request of `size` bytes aligned to `align`, or `None`
/// when it is a large block. The smallest class that is big enough and
/// whose objects are aligned enough: up to 16-byte alignment that is
/// [`class_of_size`]; above it the search moves up to the first class
/// whose size is a multiple of `align` (at worst the power of two).
#[inline]
pub(crate) fn class_of(size: usize, align: usize) -> Option<usize> {
    // Most requests: one compare each and the table.
    if size <= LOOKUP_MAX && align <= 16 {
        return Some(BY_SIXTEENTH[(size + 15) >> 4] as usize);
    }
    class_of_other(size, align)
}

/// [`class_of`] for requests above 1 KiB or aligned above 16.
#[inline]
fn class_of_other(size: usize, align: usize) -> Option<usize> {
    if size > MAX_SMALL || align > MAX_SMALL_ALIGN {
        return None;
    }
    let mut k = class_of_size(size);
    if align > 16 {
        while class_align(k) < align {
            k += 1;
            if k == CLASSES {
                return None;
            }
        }
    }
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_gets_the_smallest_class_that_fits() {
        let mut k = 0;
        for size in 0..=MAX_SMALL {
            if size > SIZES[k] {
                k += 1;
            }
            assert_eq!(class_of_size(size), k, "size {size}");
            assert!(SIZES[k] >= size);
            assert!(k == 0 || SIZES[k - 1] < size.max(1));
        }
    }

    #[test]
    fn waste_stays_within_an_eighth_above_128_bytes() {
        for size in 1..=MAX_SMALL {
            let class = SIZES[class_of_size(size)];
            if size > 128 {
                assert!((class - size) * 8 < size, "{size} -> {class}");
            } else {
                assert!(class - size < 16, "{size} -> {class}");
            }
        }
    }

    #[test]
    fn aligned_requests_get_aligned_classes() {
        let mut align = 1;
        while align <= MAX_SMALL_ALIGN {
            for size in [1, 7, 100, 1000, 5000, MAX_SMALL] {
                let k = class_of(size, align).unwrap();
                assert!(SIZES[k] >= size && class_align(k) >= align);
                assert_eq!(SIZES[k] % align, 0);
            }
            align *= 2;
        }
        assert_eq!(class_of(MAX_SMALL + 1, 8), None);
        assert_eq!(class_of(8, 2 * MAX_SMALL_ALIGN), None);
    }
}
