//! One module a task.

pub mod bench;
pub mod dist;
pub mod test;
