//! bull v4
