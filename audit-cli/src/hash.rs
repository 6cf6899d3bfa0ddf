//! `audit hash`: the keyed fingerprint of a known value, as the layer writes it in
//! place of a redacted value (docs/FORMAT.md §5.1), so that a trail can be searched
//! for a secret without storing the secret (as Vault's `/sys/audit-hash`).

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tracing_audit_cli::terminal_safe;
use tracing_audit_core::{Fingerprinter, Key};

/// The most bytes read from standard input for `audit hash -`.
const MAX_STDIN_BYTES: u64 = 16 << 20;

pub(crate) const HASH_HELP: &str = "\
Print the keyed fingerprint of VALUE, `hmac-sha256:<key id>:<64 hex>`, exactly as
the audit layer writes it in place of a redacted value (FORMAT.md §5.1), so that a
trail can be searched for a known secret without storing the secret:

  audit hash --key-file KEY - < value.txt | xargs -I{} grep -rlF {} TRAIL

With VALUE `-` the value is read from standard input (at most 16 MiB; one final
newline, \\n or \\r\\n, is removed), so that it does not land in the shell history.

The key may be the initial key (FILE.verifier of `audit keygen`) or the writer's key
file in any later key epoch: fingerprints are made with the subkey derived once from
the initial key, so every epoch's key file gives the same fingerprint.

Exit status: 0 with the fingerprint printed, 2 for usage or I/O errors.";

/// The arguments of `audit hash`.
#[derive(Args)]
pub(crate) struct HashArgs {
    /// The trail's HMAC key file (the initial key, or the writer's key file in any
    /// key epoch).
    #[arg(long, env = "AUDIT_HMAC_KEY_FILE")]
    key_file: PathBuf,
    /// The value to fingerprint, or `-` to read it from standard input.
    value: String,
}

/// Runs `audit hash`.
pub(crate) fn hash(args: HashArgs) -> ExitCode {
    let key = match Key::from_file(&args.key_file) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("audit hash: {}", terminal_safe(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let value = if args.value == "-" {
        match read_stdin() {
            Ok(v) => v,
            Err(what) => {
                eprintln!("audit hash: {what}");
                return ExitCode::from(2);
            }
        }
    } else {
        args.value
    };
    println!("{}", fingerprint(&key, &value));
    ExitCode::SUCCESS
}

/// `hmac-sha256:<key id>:<64 hex>` of `value`: `HMAC-SHA256(F, value)` with the
/// fingerprint subkey `F` of the trail's initial key (FORMAT.md §5.1), as the layer
/// writes it (one definition: [`Fingerprinter`]).
pub(crate) fn fingerprint(key: &Key, value: &str) -> String {
    Fingerprinter::new(key).fingerprint(value)
}

/// The value on standard input: UTF-8, at most [`MAX_STDIN_BYTES`], without one
/// final `\n` or `\r\n`.
fn read_stdin() -> Result<String, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the value from standard input: {e}"))?;
    if bytes.len() as u64 > MAX_STDIN_BYTES {
        return Err(format!(
            "expected a value of at most {MAX_STDIN_BYTES} bytes on standard input, found more"
        ));
    }
    let mut text = String::from_utf8(bytes).map_err(|_| {
        "expected the value as UTF-8 text on standard input, found invalid UTF-8".to_owned()
    })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_all_zero_key_gives_the_fingerprint_of_format_md() {
        assert_eq!(
            fingerprint(&Key::from_bytes([0; 32]), "hunter2"),
            "hmac-sha256:a420d7df5e6fee2d:4d0fb7c3d18e6d625060a2075016e3fa97a93104988e05c7daa272f6c15dd3c6"
        );
    }

    #[test]
    fn every_key_epoch_gives_the_initial_keys_fingerprint() {
        let k0 = Key::from_bytes([3; 32]);
        let k5 = k0.at_epoch(5).unwrap();
        assert_eq!(fingerprint(&k0, "tok"), fingerprint(&k5, "tok"));
    }
}
