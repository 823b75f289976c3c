//! Concurrent bulk downloads (work in progress).
