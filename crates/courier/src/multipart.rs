//! multipart/form-data bodies (work in progress).
