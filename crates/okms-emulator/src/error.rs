//! The crate's error type: what can go wrong while starting or running the emulator.

use std::{io, net::SocketAddr, path::PathBuf};

/// Everything that can fail when configuring, starting or stopping the emulator.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A listen address is not a loopback address; the emulator never listens elsewhere.
    #[error(
        "refusing to listen on {addr}: the emulator only listens on loopback addresses \
         (use 127.0.0.1:PORT or [::1]:PORT)"
    )]
    NonLoopback {
        /// The address that was refused.
        addr: SocketAddr,
    },
    /// Binding or configuring a listening socket failed.
    #[error("cannot listen on {addr}: {source} (is the port already in use?)")]
    Bind {
        /// The address that could not be bound.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Building the emulator CA or a certificate failed.
    #[error("cannot build the {what} certificate: {source}")]
    Certificate {
        /// Which certificate (CA, server, client).
        what: &'static str,
        /// The builder's error.
        #[source]
        source: x509_cert::builder::Error,
    },
    /// DER or PEM encoding of a certificate or key failed.
    #[error("cannot encode the {what}: {source}")]
    Encoding {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: der::Error,
    },
    /// The KMS server's key could not be encoded for rustls.
    #[error("cannot encode the KMS server key as PKCS#8: {0}")]
    ServerKey(#[source] p256::pkcs8::Error),
    /// The TLS server configuration was refused by rustls.
    #[error("cannot configure TLS for the KMS endpoint: {0}")]
    Tls(#[source] rustls::Error),
    /// The client-certificate verifier could not be built from the emulator CA.
    #[error("cannot configure client-certificate verification for the KMS endpoint: {0}")]
    ClientVerifier(#[source] rustls::server::VerifierBuilderError),
    /// Reading or writing a file (the CA file, the state directory) failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A fault specification could not be parsed.
    #[error("invalid fault specification {spec:?}: {reason}")]
    FaultSpec {
        /// The specification as given.
        spec: String,
        /// What is wrong with it and what is expected.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Key generation or CSR handling in okms-csr failed.
    #[error("key or CSR operation failed: {0}")]
    Csr(#[from] okms_csr::Error),
    /// The operating system's random generator failed.
    #[error("the operating system random generator failed: {0}")]
    Random(#[source] getrandom::Error),
    /// Starting the background runtime or thread failed.
    #[error("cannot start the emulator runtime: {0}")]
    Runtime(#[source] io::Error),
    /// The background emulator thread stopped before reporting that it listens.
    #[error("the emulator thread stopped before it was ready: {0}")]
    ThreadStopped(String),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
