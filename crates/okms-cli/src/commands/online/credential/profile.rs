//! `credential create --okms-profile`: a profile of the Go `okms` tool in its `okms.yaml`,
//! settled before anything is sent and written once the certificate exists.

use std::path::PathBuf;

use okms_api::{CertificateType, Client, CredentialRequest, DomainCa, KmsEndpoint, Uuid};
use okms_csr::{PrivateKey, same_public_key};

use super::Source;
use crate::cli::CredentialCreateArgs;
use crate::error::{CliError, CliResult, api_failure, usage};
use crate::exit::Exit;
use crate::files;
use crate::input::{self, display_path};
use crate::okms_yaml;
use crate::output::Output;

/// `--okms-profile`, as far as it can be settled offline.
pub(super) struct ProfilePlan {
    name: String,
    path: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    ca: Option<PathBuf>,
    rsa: bool,
}

/// `--okms-profile` with the domain's endpoints, checked against the file as it is now.
pub(super) struct ReadyProfile {
    name: String,
    path: PathBuf,
    profile: okms_yaml::Profile,
    /// The domain's CA from the API and the file it goes to, when no `--okms-profile-ca`
    /// was given: the profile points at that file.
    domain_ca: Option<(PathBuf, String)>,
}

/// `--okms-profile NAME`, checked as far as it can be without the API.
pub(super) fn plan(
    a: &CredentialCreateArgs,
    name: &str,
    source: &Source,
    request: &CredentialRequest,
) -> CliResult<ProfilePlan> {
    if name.trim().is_empty() {
        return Err(usage("--okms-profile needs a profile name"));
    }
    let path = match &a.okms_config {
        Some(p) => p.clone(),
        None => okms_yaml::default_path().ok_or_else(|| {
            usage("cannot find the okms.yaml of the Go okms tool: no okms.yaml here and no home directory")
                .hint("give the file with --okms-config PATH")
        })?,
    };
    let (key, rsa) = match source {
        Source::Generated { key_out } => {
            if a.okms_profile_key.is_some() {
                return Err(usage(
                    "--okms-profile-key is for --csr or --request; the profile uses the generated key (--key-out)",
                ));
            }
            let rsa = request.certificate_type == Some(CertificateType::Rsa);
            (okms_yaml::absolute(key_out), rsa)
        }
        Source::Csr { public_key } => {
            let Some(key_path) = &a.okms_profile_key else {
                return Err(usage(
                    "--okms-profile with a CSR needs the CSR's private key on this host: --okms-profile-key PATH",
                )
                .hint("the Go okms tool signs with that key; without it, write the profile on the key's host"));
            };
            let bytes = input::read_private(key_path, "the private key")?;
            let key = PrivateKey::import(&bytes, None).map_err(|e| {
                CliError::new(
                    Exit::InvalidInput,
                    format!("--okms-profile-key {}: {e}", display_path(key_path)),
                )
                .hint("give an unencrypted private key: the Go okms tool cannot open an encrypted one")
            })?;
            if !same_public_key(&key.public_key(), public_key) {
                return Err(CliError::new(
                    Exit::VerificationFailed,
                    format!(
                        "--okms-profile-key {} does not hold the CSR's public key; nothing was sent",
                        display_path(key_path)
                    ),
                ));
            }
            let rsa = public_key.algorithm().is_ok_and(|alg| alg.is_rsa());
            (okms_yaml::absolute(key_path), rsa)
        }
    };
    Ok(ProfilePlan {
        name: name.to_owned(),
        path,
        cert: okms_yaml::absolute(&a.cert_out),
        key,
        ca: a.okms_profile_ca.as_deref().map(okms_yaml::absolute),
        rsa,
    })
}

impl ProfilePlan {
    pub(super) async fn complete(
        self,
        client: &Client,
        okms_id: Uuid,
        force: bool,
    ) -> CliResult<ReadyProfile> {
        let domain = client.get_domain(okms_id, true).await.map_err(|e| {
            api_failure(
                e,
                format!("cannot read OKMS domain {okms_id} for --okms-profile"),
            )
        })?;
        let Some(rest_endpoint) = domain.rest_endpoint.clone() else {
            return Err(CliError::new(
                Exit::Api,
                format!("the API reports no REST endpoint for domain {okms_id}; nothing was sent"),
            )
            .hint(
                "create the credential without --okms-profile and configure the Go tool by hand",
            ));
        };
        let kmip_endpoint = if self.rsa {
            domain
                .kmip_rsa_endpoint
                .clone()
                .or(domain.kmip_endpoint.clone())
        } else {
            domain.kmip_endpoint.clone()
        };
        let domain_ca = match self.ca {
            Some(_) => None,
            None => Some((
                self.cert.with_extension("ca.pem"),
                profile_ca(domain, self.rsa)
                    .map_err(|e| api_failure(e, "cannot use the domain's CA; nothing was sent"))?,
            )),
        };
        let ready = ReadyProfile {
            name: self.name,
            path: self.path,
            profile: okms_yaml::Profile {
                rest_endpoint,
                kmip_endpoint,
                ca: self
                    .ca
                    .or_else(|| domain_ca.as_ref().map(|(p, _)| p.clone())),
                cert: self.cert,
                key: self.key,
            },
            domain_ca,
        };
        ready
            .render(force)
            .map_err(|e| e.context("nothing was sent"))?;
        if let Some((ca_path, _)) = &ready.domain_ca {
            files::check_writable(ca_path, force)
                .map_err(|e| CliError::from(e).context("nothing was sent"))?;
        }
        Ok(ready)
    }
}

/// The CA(s) the Go tool trusts for the domain: `publicCA` (REST and KMIP), and for an RSA
/// certificate also `publicRsaCA` when it differs (the KMIP RSA endpoint).
fn profile_ca(domain: okms_api::Domain, rsa: bool) -> Result<String, okms_api::Error> {
    let rsa_ca = match rsa && domain.public_rsa_ca.is_some() {
        true => Some(DomainCa::from_domain(domain.clone(), KmsEndpoint::KmipRsa)?.pem),
        false => None,
    };
    let mut pem = DomainCa::from_domain(domain, KmsEndpoint::Rest)?.pem;
    if let Some(rsa_pem) = rsa_ca.filter(|r| *r != pem) {
        if !pem.ends_with('\n') {
            pem.push('\n');
        }
        pem.push_str(&rsa_pem);
    }
    Ok(pem)
}

impl ReadyProfile {
    /// The file's current text (if any) and its new content.
    fn render(&self, force: bool) -> CliResult<(Option<String>, okms_yaml::Updated)> {
        let existing = input::read_existing_text(&self.path)?;
        let updated =
            okms_yaml::update(existing.as_deref(), &self.path, &self.name, &self.profile, force)
                .map_err(|e| {
                    let hint = match e {
                        okms_yaml::ProfileError::Exists { .. } => {
                            "add --force to point it at the new certificate, or choose another --okms-profile"
                        }
                        okms_yaml::ProfileError::Invalid { .. } => {
                            "fix the file, or give another one with --okms-config"
                        }
                        okms_yaml::ProfileError::Legacy { .. } => {
                            "move its profiles under `profiles:` with `version: 1` by hand (the Go tool's own `okms configure --migrate-only` would drop that key), or give another file with --okms-config"
                        }
                    };
                    CliError::new(Exit::InvalidInput, e).hint(hint)
                })?;
        Ok((existing, updated))
    }

    /// Writes the profile (mode 0600, atomically), after the certificate exists. A legacy
    /// file is copied, byte for byte, to a new name next to it before it is replaced.
    pub(super) fn write(&self, force: bool, out: &Output) -> CliResult<()> {
        let failed = |e: CliError| {
            e.context(format!(
                "the credential was created and its certificate written, but profile {:?} was not",
                self.name
            ))
        };
        let (existing, updated) = self.render(force).map_err(failed)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            files::create_private_dirs(dir).map_err(failed)?;
        }
        let backup = match (&updated.legacy_profiles, &existing) {
            (Some(_), Some(old)) => Some(self.keep_legacy_copy(old).map_err(failed)?),
            _ => None,
        };
        if let Some((ca_path, pem)) = &self.domain_ca {
            files::write_public_file(ca_path, pem.as_bytes(), force)
                .map_err(|e| failed(CliError::from(e)))?;
            out.verbose(&format!(
                "wrote the domain's CA to {} for the profile",
                ca_path.display()
            ));
        }
        // Replacing the file is the point: its other content was carried over by render().
        files::write_secret_file(&self.path, updated.text.as_bytes(), true)
            .map_err(|e| failed(CliError::from(e)))?;
        if let (Some(names), Some(backup)) = (&updated.legacy_profiles, &backup) {
            out.warn(&format!(
                "{} had the legacy layout (no `version`); its profile(s) {} are now under `profiles:` \
                 (version 1), where the Go okms tool reads them; the old file is kept as {}",
                self.path.display(),
                names.join(", "),
                backup.display()
            ));
        }
        out.verbose(&format!(
            "wrote profile {:?} to {}",
            self.name,
            self.path.display()
        ));
        if !out.is_json() {
            out.line(&format!(
                "Profile {:?} written to {}: the Go okms tool can use it with --profile {}",
                self.name,
                self.path.display(),
                self.name
            ))?;
        }
        let overriding = okms_yaml::overriding_env_vars(
            std::env::vars_os().map(|(name, _)| name),
            self.profile.kmip_endpoint.is_some(),
        );
        if !overriding.is_empty() {
            out.warn(&format!(
                "set in this environment, and read by the Go okms tool before okms.yaml: {}; \
                 unset them for profile {:?} to take effect",
                overriding.join(", "),
                self.name
            ));
        }
        Ok(())
    }

    /// Copies the legacy file's exact bytes to `<file>.v0.bak`, or `<file>.v0.N.bak` when
    /// that exists: a copy is never written over anything.
    fn keep_legacy_copy(&self, old: &str) -> CliResult<PathBuf> {
        let file_name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| okms_yaml::FILE_NAME.to_owned());
        for n in 0..1000u32 {
            let name = if n == 0 {
                format!("{file_name}.v0.bak")
            } else {
                format!("{file_name}.v0.{n}.bak")
            };
            let candidate = self.path.with_file_name(name);
            match files::write_secret_file(&candidate, old.as_bytes(), false) {
                Ok(()) => return Ok(candidate),
                Err(files::WriteError::Exists(_)) => continue,
                Err(e) => {
                    return Err(CliError::from(e).context(format!(
                        "cannot keep a copy of {} before converting it",
                        self.path.display()
                    )));
                }
            }
        }
        Err(CliError::new(
            Exit::Error,
            format!(
                "cannot keep a copy of {}: {file_name}.v0.bak to {file_name}.v0.999.bak all exist",
                self.path.display()
            ),
        )
        .hint("remove old copies you no longer need"))
    }
}
