//! Allocator tuning for processes that convert many pictures (the
//! `malloc-tuning` feature; both yail binaries turn it on).
//!
//! glibc serves each allocation above a threshold (128 KiB, rising with
//! use to at most 32 MiB) with a fresh `mmap` and unmaps it on `free`. The
//! buffers of a large picture (a 4000x3000 RGB picture is 36 MB) stay
//! above that ceiling, so every conversion of one would fault in, and the
//! kernel zero, thousands of new pages. [`keep_freed_memory`] raises both
//! thresholds so that freed buffers stay in the heap for the next picture;
//! the peak is still bounded by the conversions running at once (the
//! server's decode memory budget, `yail convert --jobs`). Converting a
//! 4000x3000 PNG to Graphics 8 over and over in one `yail convert` run
//! took a median of 376-454 ms with the tuning and 464-486 ms without (two
//! runs on a busy 2-core machine); the sample photos, whose buffers stay
//! under glibc's own ceiling, showed no difference.
//!
//! Kept memory would stay resident after a rare huge picture: the server
//! calls [`release_freed_memory`] after a large conversion, which leaves
//! 82 MiB resident after a 12-megapixel RGBA PNG instead of 356 MiB
//! (docs/performance.md, appendix).
//!
//! Both change the whole process's allocator, which is the program's
//! choice, not a library's: this crate never calls them itself, and they
//! sit behind a feature because they are its only unsafe code. Where the C
//! library is not glibc they do nothing.

/// Keeps freed picture buffers in the heap for reuse. Call once, first
/// thing in `main`, before any other thread exists.
///
/// ```no_run
/// yail_core::malloc::keep_freed_memory();
/// // Then start threads and convert pictures.
/// ```
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::raise_thresholds();
}

/// Hands the memory freed by a large conversion back to the system at
/// once, instead of keeping it for reuse. Safe to call from any thread at
/// any time.
///
/// ```
/// let decoded = vec![0u8; 64 << 20];
/// drop(decoded);
/// yail_core::malloc::release_freed_memory();
/// ```
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::trim();
}

/// The two calls into glibc: the crate's only unsafe code, allowed here
/// alone (the crate root denies it everywhere else).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod glibc {
    /// The mmap and trim thresholds: above any one picture's buffers.
    const THRESHOLD: libc::c_int = 512 << 20;

    pub(super) fn raise_thresholds() {
        // SAFETY: mallopt only changes malloc's parameters. glibc's manual
        // marks it MT-Unsafe, so it runs before any other thread exists,
        // as `keep_freed_memory` asks of its caller.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
        }
    }

    pub(super) fn trim() {
        // SAFETY: malloc_trim only returns free heap memory to the system;
        // glibc allows it from any thread at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
