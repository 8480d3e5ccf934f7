//! okms-api's errors as exit codes and hints: failed calls ([`api_failure`]), and values the
//! API would refuse, named by the flag to fix ([`invalid_request`], [`invalid_policy`]).

use okms_api::{ErrorShape, Field};

use super::CliError;
use crate::exit::Exit;

/// Maps an okms-api error to the exit code and hint its kind calls for, under `context`.
pub(crate) fn api_failure(
    e: okms_api::Error,
    context: impl std::fmt::Display + Send + Sync + 'static,
) -> CliError {
    use okms_api::Error as E;
    use okms_api::TransportErrorKind as K;
    if let E::Broker(refusal) = &e {
        let refusal = refusal.as_ref().clone();
        return super::broker::broker_refusal(e, &refusal, context);
    }
    if let Some(refusal) = permission_refusal(&e) {
        // The `error:` line itself names the missing actions: they are the fix.
        let (what, hint) = refusal;
        return CliError {
            exit: Exit::Auth,
            error: anyhow::Error::new(e).context(format!("{context}: {what}")),
            hint: Some(hint),
        };
    }
    let (exit, hint): (Exit, Option<String>) = match &e {
        E::UnknownEndpoint { .. } | E::InvalidUrl { .. } | E::InsecureUrl { .. } => (
            Exit::InvalidInput,
            Some("fix --endpoint, OVH_ENDPOINT or `endpoint=` in ovh.conf".into()),
        ),
        E::MultipleAuthMethods { .. }
        | E::NoCredentials { .. }
        | E::IncompleteCredentials { .. }
        | E::OAuth2NotSupported { .. } => (
            Exit::Auth,
            Some("see `okms-cli` README: ovh.conf or the OVH_* environment variables".into()),
        ),
        E::ConfigRead { .. } | E::ConfigParse { .. } => (
            Exit::InvalidInput,
            Some("fix or remove the file, or pass --config PATH".into()),
        ),
        E::InvalidField { .. } | E::RequestDecode(_) => (Exit::InvalidInput, None),
        E::OAuth2Token { .. } => (Exit::Auth, None),
        E::Api(a) if a.is_signature_refusal() && a.status == 400 => (
            Exit::Auth,
            Some(
                "the server refused the request signature: check the application secret and \
                 the consumer key; if they are right, this computer's clock (the signature \
                 covers a timestamp)"
                    .into(),
            ),
        ),
        E::Api(a)
            if matches!(a.status, 401 | 403)
                || matches!(a.shape, ErrorShape::AuthLayer | ErrorShape::OAuth2) =>
        {
            (
                Exit::Auth,
                Some("check the API credentials (application key/secret/consumer key, client id/secret or token)".into()),
            )
        }
        E::Api(a) if a.status == 404 => (
            Exit::Api,
            Some("check the id, and that it belongs to this account and endpoint".into()),
        ),
        E::Api(_) | E::Decode { .. } | E::UnexpectedStatus { .. } | E::BadDomainCa { .. } => {
            (Exit::Api, None)
        }
        E::CreateOutcomeUnknown { .. } | E::ReconcileFailed { .. } => (
            Exit::Api,
            Some(
                "list the domain's credentials (okms-cli credential list) before creating again"
                    .into(),
            ),
        ),
        E::Transport { source, .. } if source.kind() == K::Timeout => (Exit::Timeout, None),
        E::Transport { source, .. } if source.kind() == K::ResponseTooLarge => (Exit::Api, None),
        E::Transport { source, .. } if source.kind() == K::Connect => (
            Exit::Api,
            Some("check the endpoint and the network (or a proxy)".into()),
        ),
        E::Transport { source, .. } if source.kind() == K::UntrustedServer => (
            Exit::Api,
            Some(
                "this computer does not trust the server's certificate: check the endpoint,                  and that the system's CA certificates are installed (a proxy that inspects                  TLS needs its CA there)"
                    .into(),
            ),
        ),
        E::Transport { .. } => (Exit::Api, None),
        E::WaitTimeout { .. } => (Exit::Timeout, None),
        E::Tls { .. } => (Exit::InvalidInput, None),
        _ => (Exit::Error, None),
    };
    CliError {
        exit,
        error: anyhow::Error::new(e).context(context),
        hint,
    }
}

/// For a refusal that names the actions the caller lacks: what to say on the `error:` line and
/// the hint. IAM refusals (`details.unauthorizedActionsByIAM`) are fixed by a policy; actions
/// refused by the authentication layer (`unauthorizedActionsByAuthentication`) by a consumer
/// key whose access rules allow the call.
fn permission_refusal(e: &okms_api::Error) -> Option<(String, String)> {
    let iam = e.unauthorized_actions_by_iam();
    if !iam.is_empty() {
        let actions = iam.join(", ");
        let noun = if iam.len() == 1 { "action" } else { "actions" };
        return Some((
            format!("the caller is not granted the IAM {noun} {actions}"),
            iam_grant_hint(&actions, None),
        ));
    }
    let by_key = e
        .api_error()
        .map(|a| a.unauthorized_actions_by_authentication.as_slice())
        .unwrap_or_default();
    if !by_key.is_empty() {
        let actions = by_key.join(", ");
        return Some((
            format!("the consumer key's access rules do not allow {actions}"),
            "create a consumer key whose access rules allow this call (for example GET, POST \
             and DELETE on /v2/okms/*) and set it as consumer_key or OVH_CONSUMER_KEY"
                .to_owned(),
        ));
    }
    None
}

/// The action `credential create` needs, which the `credential-manager` preset grants.
const CREATE_ACTION: &str = "okms:apiovh:credential/create";

/// The hint for an IAM refusal of `actions` (comma-separated), the same whoever the caller is
/// (the account's root, a user, a service account): who can fix it and how, in the Control
/// Panel, the API or okms-cli. `grant` is the `okms-cli iam grant` command that fixes it when
/// the caller's identity and the domain are known; a refused create always names the
/// `credential-manager` preset.
pub(crate) fn iam_grant_hint(actions: &str, grant: Option<&str>) -> String {
    let mut hint = format!(
        "ask the account's administrator for the IAM permission: a policy granting your \
         identity {actions} on the OKMS domain's resource URN \
         (urn:v1:{{eu|ca|us}}:resource:okms:<okms-id>), made in the OVHcloud Control Panel \
         under Identity and Access Management (IAM) > Policies, or with POST \
         /v2/iam/policy {{\"name\", \"identities\", \"resources\": [{{\"urn\"}}], \
         \"permissions\": {{\"allow\": [{{\"action\"}}]}}}}"
    );
    let generic_create_grant = format!(
        "okms-cli iam grant --okms-id OKMS_ID --identity CALLER_URN --preset credential-manager \
         (OKMS_ID and CALLER_URN as `okms-cli whoami` shows them; {CREATE_ACTION} is in \
         that preset)"
    );
    let grant = grant.or_else(|| {
        actions
            .contains(CREATE_ACTION)
            .then_some(generic_create_grant.as_str())
    });
    if let Some(grant) = grant {
        hint.push_str(&format!(", or with okms-cli: {grant}"));
    }
    hint.push_str(
        "; then run the command again (the refusal came before any processing: nothing was \
         changed)",
    );
    hint
}

/// A value the API would refuse (exit 3); `flag` is the option to fix when the field does not say.
pub(crate) fn invalid_request(e: okms_api::Error, flag: &str) -> CliError {
    let flag = match &e {
        okms_api::Error::InvalidField { field, .. } => match field {
            Field::IdentityUrns | Field::IdentityUrn(_) => "--identity",
            Field::Name => "--name",
            Field::Description => "--description",
            Field::Validity => "--validity",
            Field::Csr => "--csr",
            Field::Nic => "--nic",
            Field::UserLogin => "--user",
            Field::GroupName => "--group",
            Field::ClientId => "--service-account",
            _ => flag,
        },
        _ => flag,
    };
    let err = CliError {
        exit: Exit::InvalidInput,
        error: anyhow::Error::new(e).context("the request would be rejected by the API"),
        hint: None,
    };
    if flag.is_empty() {
        err
    } else {
        err.hint(format!("fix {flag}"))
    }
}

/// A validation error of a policy body or an action, pointing at the flag to fix (exit 3).
pub(crate) fn invalid_policy(e: okms_api::Error) -> CliError {
    use okms_api::Error as E;
    use okms_api::Field as F;
    let flag = match &e {
        E::UnknownPreset { .. } => "--preset",
        E::UnknownAction { .. } => "--allow, --except or --deny",
        E::InvalidField { field, .. } => match field {
            F::PolicyName => "--name",
            F::PolicyIdentities | F::PolicyIdentity(_) => {
                "--user, --group, --service-account or --identity"
            }
            F::PolicyAllow => "--preset or --allow",
            F::PolicyExpiredAt => "--expires-at",
            _ => "",
        },
        _ => "",
    };
    let what = match &e {
        // okms-api cannot point at our --help; the list of known actions is there.
        E::UnknownAction { action, suggestion } => format!(
            "unknown IAM action {}{}; see `okms-cli iam grant --help` for the known actions, or use a pattern ending in * (e.g. okms:apikms:*)",
            super::quoted(action),
            suggestion
                .as_ref()
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default()
        ),
        _ => e.to_string(),
    };
    // The error line names what is wrong: that is what the user reads first.
    let err = CliError::new(Exit::InvalidInput, format!("{what}; nothing was sent"));
    if flag.is_empty() {
        err
    } else {
        err.hint(format!("fix {flag}"))
    }
}
