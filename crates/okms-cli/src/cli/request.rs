//! `okms-cli request ...`, and the identity flags it shares with `credential create` and
//! `iam grant`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `okms-cli request ...`
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum RequestCommand {
    /// Write the exact JSON body of the credential-create call, to carry to a connected host.
    New(RequestNewArgs),
    /// Check a request file and show what it asks for.
    Show(RequestShowArgs),
}

// `okms-cli request new`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("identity_source").required(true).multiple(true)
    .args(IDENTITY_FLAGS)))]
pub struct RequestNewArgs {
    /// The CSR to submit (PEM or DER); its signature is checked first.
    #[arg(long, value_name = "PATH")]
    pub csr: PathBuf,
    /// Credential name: 1-50 printable ASCII characters.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Who may use the credential.
    #[command(flatten)]
    pub identities: IdentityArgs,
    /// Account ID (NIC handle, usually like xx1111-ovh), to build URNs from
    /// --root/--user/--group/--service-account.
    #[arg(long, value_name = "NIC")]
    pub nic: Option<String>,
    /// Region plate for built URNs: eu, ca or us.
    #[arg(long, value_name = "PLATE")]
    pub region: Option<String>,
    /// Credential description: up to 200 printable ASCII characters; "" sends an empty one
    /// (left out of the request when not given).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Certificate validity in days, 1-365 (the API's default is 365).
    #[arg(long, value_name = "DAYS")]
    pub validity: Option<u32>,
    /// Where to write the request (JSON); `-` writes it to stdout.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

// `okms-cli request show`
#[derive(Debug, Args)]
pub struct RequestShowArgs {
    /// The request file written by `request new` (`-` for stdin).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

// Who a credential or a policy is for: full IAM URNs, or identities of the account by name
// (a credential takes 1-25). The commands that need one say so with an `ArgGroup` over
// `IDENTITY_FLAGS`.
#[derive(Debug, Args, Clone, Default)]
pub struct IdentityArgs {
    /// A full identity URN, urn:v1:{eu|ca|us|labeu}:identity:{account|user|group|credential}:{account}[/{name}],
    /// e.g. urn:v1:eu:identity:user:xx1111-ovh/john.smith (repeatable).
    #[arg(long, value_name = "URN")]
    pub identity: Vec<String>,
    /// The account's root identity (urn:v1:{region}:identity:account:{nic}); `iam grant`
    /// refuses it: the root holds every right and needs no policy.
    #[arg(long)]
    pub root: bool,
    /// A local user of the account, by login (repeatable).
    #[arg(long, value_name = "LOGIN")]
    pub user: Vec<String>,
    /// A user group of the account, by name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub group: Vec<String>,
    /// A service account (OAuth2 client), by client id; its URN name is oauth2-{client id}
    /// (repeatable).
    #[arg(long, value_name = "CLIENT_ID")]
    pub service_account: Vec<String>,
}

/// The ids of [`IdentityArgs`]' flags, for the groups and conflicts of the commands that
/// flatten it.
pub const IDENTITY_FLAGS: [&str; 5] = ["identity", "root", "user", "group", "service_account"];

/// The selection the flags make.
impl From<&IdentityArgs> for okms_api::IdentitySelection {
    fn from(a: &IdentityArgs) -> Self {
        Self {
            urns: a.identity.clone(),
            root: a.root,
            users: a.user.clone(),
            groups: a.group.clone(),
            service_accounts: a.service_account.clone(),
        }
    }
}
