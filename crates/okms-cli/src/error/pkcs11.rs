//! okms-pkcs11's errors as exit codes and hints.

use okms_pkcs11::Error as P11Error;

use super::CliError;
use crate::exit::Exit;

/// Where to get a token to try okms-cli with.
const INSTALL_HINT: &str = "for a software token to try with: `apt-get install softhsm2`, `softhsm2-util --init-token --free --label NAME`, then --pkcs11-module /usr/lib/softhsm/libsofthsm2.so";

/// Wraps an `okms_pkcs11` error with its exit code and hint.
pub(crate) fn p11_error(
    e: P11Error,
    context: impl std::fmt::Display + Send + Sync + 'static,
) -> CliError {
    let (exit, hint): (Exit, Option<String>) = match &e {
        P11Error::InvalidUri { .. } => (
            Exit::InvalidInput,
            Some("write the key as an RFC 7512 URI, e.g. pkcs11:token=mytoken;object=okms-client (percent-encode ';', '?', '%' and spaces in values)".into()),
        ),
        P11Error::MissingUriAttribute { .. } => (Exit::InvalidInput, None),
        P11Error::NoModule { .. } => (Exit::Usage, Some(INSTALL_HINT.into())),
        P11Error::ModuleNotFound { .. } => (Exit::Error, None),
        P11Error::StaticBuild { .. } => (Exit::Error, None),
        P11Error::ModuleLoad { .. } => (
            Exit::Error,
            Some("give the path of the token vendor's PKCS#11 library (a shared library exporting C_GetFunctionList) built for this machine".into()),
        ),
        P11Error::PinSource { .. } => (Exit::InvalidInput, None),
        P11Error::NoToken { .. } | P11Error::AmbiguousToken { .. } => (
            Exit::InvalidInput,
            Some("name the token with token=LABEL (or serial=) in the URI; `softhsm2-util --show-slots` or `p11tool --list-tokens` show them".into()),
        ),
        P11Error::PinRequired { .. } => (
            Exit::InvalidInput,
            Some("use --pin-file FILE, or ?pin-source=FILE in the URI, or run on a terminal to be asked".into()),
        ),
        P11Error::Login { .. } => (
            Exit::InvalidInput,
            Some("check the PIN source (--pin-file, pin-source or pin-value); too many wrong PINs lock the token".into()),
        ),
        P11Error::KeyNotFound { .. } | P11Error::AmbiguousKey { .. } => (
            Exit::InvalidInput,
            Some("list the keys with `okms-cli key list --pkcs11 pkcs11:token=LABEL`".into()),
        ),
        P11Error::KeyExists { .. } => (
            Exit::RefusedOverwrite,
            Some("keys on a token are never replaced; choose another object= label (and id=), or delete the old key with the token's own tools".into()),
        ),
        P11Error::UnsupportedKey(_) => (
            Exit::InvalidInput,
            Some("supported keys: ECDSA P-256, P-384, P-521 and RSA 2048, 3072, 4096 bits".into()),
        ),
        P11Error::Csr(_) => (Exit::InvalidInput, None),
        P11Error::Relabel { .. } => (
            Exit::Error,
            Some("the token refused to change a key's CKA_LABEL; the message says which label each key now has (p11tool --set-label changes one by hand)".into()),
        ),
        _ => (Exit::Error, None),
    };
    // The library's message names no flag of ours; where the fix is one, say it in our words.
    let error = match in_cli_words(&e) {
        Some(message) => anyhow::anyhow!(message).context(context),
        None => anyhow::Error::new(e).context(context),
    };
    CliError { exit, error, hint }
}

/// The message of an error whose fix is an okms-cli flag or setting, naming it.
fn in_cli_words(e: &P11Error) -> Option<String> {
    Some(match e {
        P11Error::NoModule {
            module_name,
            softhsm2_module,
        } => {
            let mut text = String::from(
                "no PKCS#11 module given: pass --pkcs11-module PATH, set OKMS_PKCS11_MODULE, or add ?module-path=PATH to the URI",
            );
            if let Some(name) = module_name {
                text.push_str(&format!(
                    "; the URI's module-name={name} is not looked up, give the library's path"
                ));
            }
            if let Some(path) = softhsm2_module {
                let path = path.display();
                text.push_str(&format!(
                    "; a SoftHSM2 module is installed at {path} (for a SoftHSM2 token: --pkcs11-module {path})"
                ));
            }
            text
        }
        P11Error::ModuleNotFound { path } => format!(
            "PKCS#11 module {} does not exist; install your token's PKCS#11 library (for SoftHSM2: `apt-get install softhsm2`, module /usr/lib/softhsm/libsofthsm2.so) and pass its path with --pkcs11-module or OKMS_PKCS11_MODULE",
            path.display()
        ),
        P11Error::PinRequired { token } => format!(
            "token {token:?} needs its user PIN; give it with --pin-file, pin-source or pin-value in the URI, or at the prompt"
        ),
        P11Error::KeyNotFound { token, uri } => format!(
            "no private key on token {token:?} matches {uri}; list the keys with `okms-cli key list --pkcs11 URI`"
        ),
        _ => return None,
    })
}
