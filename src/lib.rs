//! Examples and tests live beside this crate.
