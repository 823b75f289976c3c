//! Retrying failed requests (work in progress).
