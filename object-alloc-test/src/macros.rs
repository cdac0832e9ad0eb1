//! The macros that generate a whole suite of `#[test]`s from a constructor
//! expression.

/// Generates the untyped suite for an [`UntypedObjectAlloc`]: a module
/// `$name` with the tests `layout`, `blocks` and `random`, each run over the
/// layout grid ([`object_layouts`], or the list given with `layouts = ...`).
///
/// The closure-like argument builds a fresh allocator for a requested
/// [`Layout`](core::alloc::Layout); names from the enclosing module are in
/// scope.
///
/// ```
/// use std::alloc::System;
/// use object_alloc::GlobalUntyped;
///
/// object_alloc_test::untyped_suite!(system_blocks, |layout| GlobalUntyped::new(System, layout));
/// # fn main() {}
/// ```
///
/// [`UntypedObjectAlloc`]: object_alloc::UntypedObjectAlloc
/// [`object_layouts`]: crate::object_layouts
#[macro_export]
macro_rules! untyped_suite {
    ($name:ident, |$layout:ident| $make:expr $(, layouts = $layouts:expr)? $(,)?) => {
        #[allow(unused_imports)]
        mod $name {
            use super::*;

            fn __oat_make($layout: ::core::alloc::Layout) -> impl $crate::object_alloc::UntypedObjectAlloc {
                $make
            }

            $crate::__untyped_tests!(__oat_make $(, $layouts)?);
        }
    };
}

/// Generates the suite for a [`SharedUntypedObjectAlloc`]: everything
/// [`untyped_suite!`] generates, plus `threads` (cross-thread frees from
/// `Config::threads` threads at once).
///
/// ```
/// use std::alloc::System;
/// use object_alloc::GlobalUntyped;
///
/// object_alloc_test::shared_untyped_suite!(shared_system_blocks, |layout| GlobalUntyped::new(System, layout));
/// # fn main() {}
/// ```
///
/// [`SharedUntypedObjectAlloc`]: object_alloc::SharedUntypedObjectAlloc
#[macro_export]
macro_rules! shared_untyped_suite {
    ($name:ident, |$layout:ident| $make:expr $(, layouts = $layouts:expr)? $(,)?) => {
        #[allow(unused_imports)]
        mod $name {
            use super::*;

            fn __oat_make($layout: ::core::alloc::Layout) -> impl $crate::object_alloc::SharedUntypedObjectAlloc {
                $make
            }

            $crate::__untyped_tests!(__oat_make $(, $layouts)?);

            #[test]
            fn threads() {
                $crate::report($crate::untyped::threads(__oat_make, &__oat_layouts(), &$crate::Config::from_env()));
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __untyped_tests {
    ($make:ident) => {
        $crate::__untyped_tests!($make, $crate::object_layouts());
    };
    ($make:ident, $layouts:expr) => {
        fn __oat_layouts() -> ::std::vec::Vec<::core::alloc::Layout> {
            ::std::iter::IntoIterator::into_iter($layouts).collect()
        }

        #[test]
        fn layout() {
            $crate::report($crate::untyped::layout($make, &__oat_layouts()));
        }

        #[test]
        fn blocks() {
            $crate::report($crate::untyped::blocks(
                $make,
                &__oat_layouts(),
                &$crate::Config::from_env(),
            ));
        }

        #[test]
        fn random() {
            $crate::report($crate::untyped::random(
                $make,
                &__oat_layouts(),
                &$crate::Config::from_env(),
            ));
        }
    };
}

/// Generates the typed suite for an [`ObjectAlloc<T>`]: a module `$name` with
/// one module per test object type (`tiny`, `cache_line`, `medium`, `page`,
/// `large`: from 32 bytes to 64 KiB, aligned from 8 bytes to 4 KiB), each
/// with the tests `objects`, `random` and `init_panic`.
///
/// The argument names a type parameter and an initialiser and builds a fresh
/// allocator of that type from them: `<T>(init) => expression`. `T` is one of
/// the suite's [`Tracked`](crate::Tracked) object types (`Send + Sync +
/// 'static`), `init` implements [`Init<T>`] and is `Clone + Send + Sync +
/// 'static`.
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, Typed};
///
/// object_alloc_test::typed_suite!(typed_system, <T>(init) => {
///     Typed::<T, _, _>::new(GlobalUntyped::system(Layout::new::<T>()), init).unwrap()
/// });
/// # fn main() {}
/// ```
///
/// [`ObjectAlloc<T>`]: object_alloc::ObjectAlloc
/// [`Init<T>`]: object_alloc::Init
#[macro_export]
macro_rules! typed_suite {
    ($name:ident, <$T:ident>($init:ident) => $make:expr $(,)?) => {
        #[allow(unused_imports)]
        mod $name {
            use super::*;

            fn __oat_make<$T, __OatInit>(
                $init: __OatInit,
            ) -> impl $crate::object_alloc::ObjectAlloc<$T>
            where
                $T: $crate::TestObject,
                __OatInit: $crate::object_alloc::Init<$T>
                    + ::core::clone::Clone
                    + ::core::marker::Send
                    + ::core::marker::Sync
                    + 'static,
            {
                $make
            }

            $crate::__typed_tests!(tiny, $crate::Bytes<1>);
            $crate::__typed_tests!(cache_line, $crate::Align64<64>);
            $crate::__typed_tests!(medium, $crate::Bytes<1000>);
            $crate::__typed_tests!(page, $crate::Align4096<4096>);
            $crate::__typed_tests!(large, $crate::Bytes<65536>);
        }
    };
}

/// Generates the suite for a [`SharedObjectAlloc<T>`]: everything
/// [`typed_suite!`] generates, plus `threads` for each object type
/// (cross-thread frees from `Config::threads` threads at once).
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, Typed};
///
/// object_alloc_test::shared_typed_suite!(shared_typed_system, <T>(init) => {
///     Typed::<T, _, _>::new(GlobalUntyped::system(Layout::new::<T>()), init).unwrap()
/// });
/// # fn main() {}
/// ```
///
/// [`SharedObjectAlloc<T>`]: object_alloc::SharedObjectAlloc
#[macro_export]
macro_rules! shared_typed_suite {
    ($name:ident, <$T:ident>($init:ident) => $make:expr $(,)?) => {
        #[allow(unused_imports)]
        mod $name {
            use super::*;

            fn __oat_make<$T, __OatInit>(
                $init: __OatInit,
            ) -> impl $crate::object_alloc::SharedObjectAlloc<$T>
            where
                $T: $crate::TestObject,
                __OatInit: $crate::object_alloc::Init<$T>
                    + ::core::clone::Clone
                    + ::core::marker::Send
                    + ::core::marker::Sync
                    + 'static,
            {
                $make
            }

            $crate::__typed_tests!(tiny, $crate::Bytes<1>, threads);
            $crate::__typed_tests!(cache_line, $crate::Align64<64>, threads);
            $crate::__typed_tests!(medium, $crate::Bytes<1000>, threads);
            $crate::__typed_tests!(page, $crate::Align4096<4096>, threads);
            $crate::__typed_tests!(large, $crate::Bytes<65536>, threads);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __typed_tests {
    ($object:ident, $payload:ty $(, $threads:ident)?) => {
        mod $object {
            use super::__oat_make;

            #[test]
            fn objects() {
                $crate::report($crate::typed::objects::<$payload, _>(|init| __oat_make(init), &$crate::Config::from_env()));
            }

            #[test]
            fn random() {
                $crate::report($crate::typed::random::<$payload, _>(|init| __oat_make(init), &$crate::Config::from_env()));
            }

            #[test]
            fn init_panic() {
                $crate::report($crate::typed::init_panic::<$payload, _>(|init| __oat_make(init), &$crate::Config::from_env()));
            }

            $(
                #[test]
                fn $threads() {
                    $crate::report($crate::typed::threads::<$payload, _>(|init| __oat_make(init), &$crate::Config::from_env()));
                }
            )?
        }
    };
}

/// Generates the general-purpose suite for a [`GlobalAlloc`]: a module
/// `$name` with the tests `layouts`, `zeroed`, `realloc`, `random` and
/// `threads`. The argument is an expression that makes the allocator, or
/// `static NAME` for an allocator in a static (such as a
/// `#[global_allocator]`).
///
/// ```
/// object_alloc_test::global_alloc_suite!(system, std::alloc::System);
///
/// static HEAP: std::alloc::System = std::alloc::System;
/// object_alloc_test::global_alloc_suite!(system_static, static HEAP);
/// # fn main() {}
/// ```
///
/// [`GlobalAlloc`]: core::alloc::GlobalAlloc
#[macro_export]
macro_rules! global_alloc_suite {
    ($name:ident, static $global:path $(,)?) => {
        #[allow(unused_imports)]
        mod $name {
            use super::*;
            $crate::__global_tests!(&$global);
        }
    };
    ($name:ident, $make:expr $(,)?) => {
        #[allow(unused_imports)]
        mod $name {
            use super::*;

            fn __oat_make() -> impl ::core::alloc::GlobalAlloc + ::core::marker::Sync {
                $make
            }

            $crate::__global_tests!(&__oat_make());
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __global_tests {
    ($global:expr) => {
        #[test]
        fn layouts() {
            $crate::report($crate::global::layouts($global));
        }

        #[test]
        fn zeroed() {
            $crate::report($crate::global::zeroed($global));
        }

        #[test]
        fn realloc() {
            $crate::report($crate::global::realloc($global));
        }

        #[test]
        fn random() {
            $crate::report($crate::global::random($global, &$crate::Config::from_env()));
        }

        #[test]
        fn threads() {
            $crate::report($crate::global::threads(
                $global,
                &$crate::Config::from_env(),
            ));
        }
    };
}

/// Generates the general-purpose suite for an `allocator_api2` [`Allocator`]
/// used from one thread: a module `$name` with the tests `layouts`, `zeroed`,
/// `grow_shrink` and `random`. The expression makes the allocator; a
/// reference to a static works too, since `&A` is an `Allocator`.
///
/// ```
/// object_alloc_test::allocator_suite!(global_api, allocator_api2::alloc::Global);
/// # fn main() {}
/// ```
///
/// [`Allocator`]: allocator_api2::alloc::Allocator
#[macro_export]
macro_rules! allocator_suite {
    ($name:ident, $make:expr $(,)?) => {
        #[allow(unused_imports)]
        mod $name {
            use super::*;

            fn __oat_make() -> impl $crate::allocator_api2::alloc::Allocator {
                $make
            }

            $crate::__allocator_tests!();
        }
    };
}

/// Generates the general-purpose suite for an `allocator_api2` [`Allocator`]
/// that is `Sync`: everything [`allocator_suite!`] generates, plus `threads`.
///
/// ```
/// object_alloc_test::shared_allocator_suite!(global_api_shared, allocator_api2::alloc::Global);
/// # fn main() {}
/// ```
///
/// [`Allocator`]: allocator_api2::alloc::Allocator
#[macro_export]
macro_rules! shared_allocator_suite {
    ($name:ident, $make:expr $(,)?) => {
        #[allow(unused_imports)]
        mod $name {
            use super::*;

            fn __oat_make() -> impl $crate::allocator_api2::alloc::Allocator + ::core::marker::Sync
            {
                $make
            }

            $crate::__allocator_tests!();

            #[test]
            fn threads() {
                $crate::report($crate::allocator::threads(
                    &__oat_make(),
                    &$crate::Config::from_env(),
                ));
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __allocator_tests {
    () => {
        #[test]
        fn layouts() {
            $crate::report($crate::allocator::layouts(&__oat_make()));
        }

        #[test]
        fn zeroed() {
            $crate::report($crate::allocator::zeroed(&__oat_make()));
        }

        #[test]
        fn grow_shrink() {
            $crate::report($crate::allocator::grow_shrink(&__oat_make()));
        }

        #[test]
        fn random() {
            $crate::report($crate::allocator::random(
                &__oat_make(),
                &$crate::Config::from_env(),
            ));
        }
    };
}
