//! `llmtrace projects`: create projects with their API keys, and list them. Keys live in
//! `<data-dir>/api_keys.toml`, which `llmtrace serve` loads at start; secrets are stored only as
//! SHA-256 digests and shown once, at creation.

use crate::cli::{ProjectsCommand, ProjectsCreateArgs, ProjectsListArgs};
use anyhow::{bail, Context};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the key file inside the data dir.
pub(crate) const KEYS_FILE: &str = "api_keys.toml";

/// The key file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyFile {
    #[serde(default)]
    pub(crate) api_keys: Vec<StoredKey>,
}

/// One stored key.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredKey {
    pub(crate) project: String,
    pub(crate) public_key: String,
    pub(crate) secret_sha256: String,
    pub(crate) created: String,
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part:
/// a private temporary file in the same directory (mode 0600 from its creation), flushed to disk,
/// then renamed over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".api_keys.")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Path of the key file of a data dir.
pub(crate) fn keys_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_FILE)
}

/// Reads the key file of a data dir (empty when absent).
pub(crate) fn load(data_dir: &Path) -> anyhow::Result<KeyFile> {
    let path = keys_path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            toml::from_str(&text).with_context(|| format!("invalid key file {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The stored keys as server keys.
pub(crate) fn server_keys(file: &KeyFile) -> anyhow::Result<Vec<llmtrace_server::ApiKey>> {
    file.api_keys
        .iter()
        .map(|k| {
            let bytes = hex::decode(&k.secret_sha256)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .with_context(|| format!("key {} has a malformed secret_sha256", k.public_key))?;
            Ok(llmtrace_server::ApiKey {
                project: k.project.clone(),
                public_key: k.public_key.clone(),
                secret_sha256: bytes,
            })
        })
        .collect()
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub(crate) fn run(cmd: ProjectsCommand) -> anyhow::Result<()> {
    match cmd {
        ProjectsCommand::Create(a) => create(a),
        ProjectsCommand::List(a) => list(a),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn create(a: ProjectsCreateArgs) -> anyhow::Result<()> {
    if !valid_name(&a.name) {
        bail!("project names are 1 to 64 characters of letters, digits, '-' and '_'");
    }
    std::fs::create_dir_all(&a.data_dir)
        .with_context(|| format!("cannot create {}", a.data_dir.display()))?;
    let mut file = load(&a.data_dir)?;
    let public_key = format!("pk-lf-{}", random_hex(16));
    let secret_key = format!("sk-lf-{}", random_hex(24));
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    file.api_keys.push(StoredKey {
        project: a.name.clone(),
        public_key: public_key.clone(),
        secret_sha256: hex::encode(llmtrace_server::sha256(&secret_key)),
        created: now,
    });
    let path = keys_path(&a.data_dir);
    let text = format!(
        "# llmtrace API keys, written by `llmtrace projects create`; `llmtrace serve` loads them.\n\
         # Secrets are stored only as SHA-256 digests.\n\n{}",
        toml::to_string_pretty(&file)?
    );
    write_atomically(&path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "project {} created; its keys (the secret is shown only now):",
        a.name
    );
    println!("  public key  {public_key}");
    println!("  secret key  {secret_key}");
    println!();
    println!("Langfuse SDKs:  LANGFUSE_PUBLIC_KEY={public_key} LANGFUSE_SECRET_KEY={secret_key} LANGFUSE_HOST=http://127.0.0.1:4318");
    println!("OpenTelemetry:  OTEL_EXPORTER_OTLP_HEADERS=\"Authorization=Bearer {secret_key}\"");
    println!(
        "LangSmith SDKs: LANGSMITH_API_KEY={secret_key} LANGSMITH_ENDPOINT=http://127.0.0.1:4318"
    );
    println!("llmtrace CLI:   LLMTRACE_SECRET_KEY={secret_key}");
    println!();
    println!("Restart `llmtrace serve` to load it; with keys, every request needs one.");
    Ok(())
}

fn list(a: ProjectsListArgs) -> anyhow::Result<()> {
    let file = load(&a.data_dir)?;
    if file.api_keys.is_empty() {
        println!(
            "no projects in {} (the server is open: everything goes to project `default`)",
            keys_path(&a.data_dir).display()
        );
        return Ok(());
    }
    println!("{:<24} {:<40} CREATED", "PROJECT", "PUBLIC KEY");
    for k in &file.api_keys {
        println!("{:<24} {:<40} {}", k.project, k.public_key, k.created);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_replaced_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = keys_path(dir.path());
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [KEYS_FILE], "no temporary file left behind");
    }
}
