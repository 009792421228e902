//! How a run ends: the outcome of a subcommand and the exit code of an error.

use yail_proto::client::ClientError;

/// Some of the work failed (pictures, error packets, load-test clients).
pub const SOME_FAILED: u8 = 1;
/// A file or the network failed, or the server went silent.
pub const CANNOT_RUN: u8 = 3;
/// The server broke the protocol.
pub const PROTOCOL: u8 = 4;

/// What a subcommand that ran to the end reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything succeeded.
    Success,
    /// The run finished, but some of its work failed (already reported).
    SomeFailed,
}

impl Outcome {
    /// `Success` when `ok`.
    pub fn from_ok(ok: bool) -> Outcome {
        if ok {
            Outcome::Success
        } else {
            Outcome::SomeFailed
        }
    }
}

/// The server sent something no YAIL server may send, other than what
/// [`ClientError::is_protocol_violation`] covers (e.g. an image packet
/// that cannot be shown).
#[derive(Debug, thiserror::Error)]
#[error("protocol violation: {0}")]
pub struct ProtocolViolation(pub String);

/// A command line that parses but asks for something impossible. `main`
/// reports it the way clap reports its own errors: with the usage, and
/// exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    /// What kind of mistake, as clap classifies its own.
    pub kind: clap::error::ErrorKind,
    /// What to tell the user.
    pub message: String,
}

/// The exit code for an error that stopped a subcommand.
pub fn code_of(error: &anyhow::Error) -> u8 {
    let protocol = error.chain().any(|cause| {
        cause.is::<ProtocolViolation>()
            || cause
                .downcast_ref::<ClientError>()
                .is_some_and(ClientError::is_protocol_violation)
    });
    if protocol { PROTOCOL } else { CANNOT_RUN }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn protocol_violations_are_found_under_context() {
        let decode: anyhow::Result<()> = Err(ClientError::Decode(
            yail_proto::DecodeError::UnknownVersion([0x4F, 0x4B, 0x3A]),
        ))
        .context("reading picture 1");
        assert_eq!(code_of(&decode.unwrap_err()), PROTOCOL);

        let ours: anyhow::Result<()> =
            Err(ProtocolViolation("bad image".into())).context("picture 2");
        assert_eq!(code_of(&ours.unwrap_err()), PROTOCOL);

        let timeout: anyhow::Result<()> =
            Err(ClientError::Timeout(std::time::Duration::from_secs(1))).context("picture 1");
        assert_eq!(code_of(&timeout.unwrap_err()), CANNOT_RUN);
        assert_eq!(code_of(&anyhow::anyhow!("disk full")), CANNOT_RUN);
    }
}
