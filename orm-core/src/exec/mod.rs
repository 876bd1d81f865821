//! Execution and decoding: running a compiled query on a connection and
//! turning its rows into values and objects.

pub(crate) mod cursor;
pub(crate) mod decode;
pub(crate) mod plan;
pub(crate) mod stream;
