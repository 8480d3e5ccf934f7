//! One module a task.

pub mod test;
