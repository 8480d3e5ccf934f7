#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod audit;
pub mod engine;
mod error;
pub mod policy;
pub mod server;
pub mod service;

pub use error::Error;
