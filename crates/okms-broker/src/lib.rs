#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod engine;
mod error;
pub mod policy;
pub mod service;

pub use error::Error;
