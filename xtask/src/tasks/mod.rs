//! One module a task.

pub mod bench;
pub mod dist;
pub mod fuzz;
pub mod test;
