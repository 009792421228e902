//! What can be wrong with the settings before the server starts, and why
//! the admin page's changes could not be saved.

use std::path::PathBuf;

/// A setting the server cannot start with: each names the file and line,
/// or the environment variable, it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A settings file could not be read.
    #[error("cannot read the settings file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A settings file is not valid TOML.
    #[error("{}: not a valid TOML file: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's account, with the line and column.
        message: String,
    },
    /// A key that is no setting, or one this file may not hold.
    #[error("{}, line {line}: unknown key `{key}`{hint}", path.display())]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// Its line, from 1.
        line: usize,
        /// The key as written.
        key: String,
        /// What was probably meant, or which keys the file may hold
        /// (starts with "; ", or is empty).
        hint: String,
    },
    /// A value the setting does not take.
    #[error("{}, line {line}: `{key}`: {reason}", path.display())]
    BadValue {
        /// The file.
        path: PathBuf,
        /// Its line, from 1.
        line: usize,
        /// The key.
        key: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// An environment variable under an older or another program's name
    /// holds a value its setting does not take.
    #[error("environment variable {variable} (read as {flag}): {reason}")]
    BadVariable {
        /// The variable.
        variable: String,
        /// The flag it stands for.
        flag: String,
        /// What is wrong with the value.
        reason: String,
    },
}

/// Why the admin page's changes could not be written to the settings file.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The file holds something that is not TOML any more (edited by hand
    /// since the server started); it is left as it is.
    #[error("{} is not a valid TOML file ({message}); not overwritten", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's account.
        message: String,
    },
    /// Reading, writing or renaming failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
