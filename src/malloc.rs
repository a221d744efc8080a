//! glibc malloc tuning for a server that hashes passwords with argon2id.
//!
//! Every hash allocates its 19 MiB working memory in one block, which glibc serves with
//! `mmap` and returns with `munmap`. But glibc's mmap threshold is dynamic: freeing such a
//! block raises the threshold to its size, so from then on the 19 MiB blocks come from the
//! heap of whichever blocking thread hashes, and each of those heaps keeps its block after
//! the hash is done. A server that had handled a handful of logins held hundreds of MiB that
//! way. Fixing the threshold turns the dynamic adjustment off: large blocks always go back to
//! the system when freed.

/// Blocks at least this large are mapped on their own and unmapped when freed. Far below
/// the hash's 19 MiB, and above the request and response buffers, which stay on the heap
/// (where reuse is cheap).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1024 * 1024;

/// Returns false if glibc refused the setting (the server then works as before, with more
/// memory kept after logins).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn return_large_blocks_to_the_system() -> bool {
    // SAFETY: mallopt(3) takes no pointers; it only changes the allocator's parameters,
    // under the allocator's own lock.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 }
}

/// Other C libraries do not raise their threshold this way; nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_large_blocks_to_the_system() -> bool {
    true
}
