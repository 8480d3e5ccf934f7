//! What a caller can choose when starting the emulator.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use uuid::Uuid;

use crate::{faults::FaultSpec, iam::IamSeed};

/// Whether the KMS endpoint demands a client certificate during the TLS handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// Certificates are verified when presented; a request without one gets a data-plane 401
    /// JSON answer (the default, so clients can see the error shape).
    #[default]
    Optional,
    /// The handshake fails without a certificate signed by the emulator CA.
    Required,
}

/// The emulator's settings. `EmulatorConfig::default()` gives random ports on 127.0.0.1,
/// random credentials, a 500 ms CREATING phase and no faults.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Address of the OVHcloud API side (plain HTTP). Must be a loopback address.
    pub listen: SocketAddr,
    /// Address of the KMS domain side (HTTPS with client certificates). Must be loopback.
    pub kms_listen: SocketAddr,
    /// Address of the KMS domain's KMIP endpoint (TTLV over mutual TLS). Must be loopback.
    pub kmip_listen: SocketAddr,
    /// How long a new credential stays `CREATING`.
    pub ready_delay: Duration,
    /// How long the KMS data plane keeps refusing a certificate after its credential became
    /// READY, as a node that has not received it yet would (zero: accepted at once).
    pub kms_propagation: Duration,
    /// How long a deleted credential stays `DELETING` before it disappears.
    pub delete_delay: Duration,
    /// Lifetime of OAuth2 access tokens.
    pub token_ttl: Duration,
    /// Largest accepted difference between `X-Ovh-Timestamp` and the server clock.
    pub max_clock_skew: Duration,
    /// Seed of the fault generator: the same seed and the same request order give the same faults.
    pub seed: u64,
    /// Faults to inject.
    pub faults: Vec<FaultSpec>,
    /// Seconds added to the server clock (what `/auth/time` reports and what timestamps are
    /// checked against). Negative means the server is behind.
    pub clock_skew_secs: i64,
    /// Directory for the CA file; a private temporary directory (removed on shutdown) when None.
    pub state_dir: Option<PathBuf>,
    /// Client certificate policy of the KMS endpoint.
    pub kms_client_auth: ClientAuth,
    /// The OKMS domain id; random when None.
    pub okms_id: Option<Uuid>,
    /// Extra domains listed by `GET /v2/okms/resource` (to exercise pagination).
    pub extra_domains: usize,
    /// Region of the domains.
    pub region: String,
    /// Account NIC handle.
    pub nic: String,
    /// Page size when the client sends no `X-Pagination-Size`.
    pub default_page_size: usize,
    /// Largest page size accepted.
    pub max_page_size: usize,
    /// Fixed API credentials (random when None), useful for reproducible demos.
    pub credentials: Option<ApiCredentials>,
    /// Answer authentication failures in the older authentication-layer shape
    /// `{"errorCode","httpCode","message"}` (`INVALID_SIGNATURE`, `QUERY_TIME_OUT`, ...) instead
    /// of the API's current `{"class","message"}`, so that clients stay tested on both.
    pub legacy_auth_errors: bool,
    /// IAM actions refused to every API caller: a route needing one answers 403
    /// `Client::Forbidden` "User not granted for this request" naming it in
    /// `details.unauthorizedActionsByIAM`, before any processing. Each entry is an action
    /// (`okms:apiovh:credential/create`) or a prefix ending in `*` (`okms:apiovh:credential/*`,
    /// `*`). Changeable at run time with `RunningEmulator::set_denied_actions`.
    pub deny_actions: Vec<String>,
    /// The account's users, groups and service accounts, and the identity API callers act as
    /// (the root account by default). Policies (`/v2/iam/policy`) then decide what a caller
    /// that is neither root nor in an ADMIN-role group may do, on the API and on the KMS.
    pub iam: IamSeed,
    /// The domains that are PCI-DSS enabled (`pciDssEnabled`); every other is not.
    pub pci_dss_domains: Vec<Uuid>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            listen: loopback,
            kms_listen: loopback,
            kmip_listen: loopback,
            ready_delay: Duration::from_millis(500),
            kms_propagation: Duration::ZERO,
            delete_delay: Duration::from_millis(500),
            token_ttl: Duration::from_secs(3600),
            max_clock_skew: Duration::from_secs(300),
            seed: 0,
            faults: Vec::new(),
            clock_skew_secs: 0,
            state_dir: None,
            kms_client_auth: ClientAuth::Optional,
            okms_id: None,
            extra_domains: 0,
            region: "eu-west-rbx".to_owned(),
            nic: "xx1111-ovh".to_owned(),
            default_page_size: 50,
            max_page_size: 1000,
            credentials: None,
            legacy_auth_errors: false,
            deny_actions: Vec::new(),
            pci_dss_domains: Vec::new(),
            iam: IamSeed::default(),
        }
    }
}

/// The account's API credentials: one application (AK/AS) with one consumer key, and one
/// OAuth2 service account.
#[derive(Clone)]
pub struct ApiCredentials {
    /// Application key (`X-Ovh-Application`).
    pub application_key: String,
    /// Application secret (never sent; used in the signature).
    pub application_secret: String,
    /// Consumer key (`X-Ovh-Consumer`).
    pub consumer_key: String,
    /// OAuth2 client id.
    pub client_id: String,
    /// OAuth2 client secret.
    pub client_secret: String,
}

impl std::fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiCredentials")
            .field("application_key", &self.application_key)
            .field("application_secret", &"<redacted>")
            .field("consumer_key", &"<redacted>")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

impl Drop for ApiCredentials {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.application_secret.zeroize();
        self.consumer_key.zeroize();
        self.client_secret.zeroize();
    }
}
