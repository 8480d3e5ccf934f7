//! One module a task.

pub mod bench;
pub mod test;
