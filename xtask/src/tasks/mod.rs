//! One module a task.

pub mod bench;
pub mod bench_broker;
pub mod demo;
pub mod demo_broker;
pub mod dist;
pub mod examples;
pub mod fuzz;
pub mod instructions;
pub mod package;
pub mod ready_lag;
pub mod test;
pub mod web;
pub mod web_measure;
