//! Typed process exit codes, one place for the contract (the README, "Use", says it to users).
//!
//! `0` success (for `verify`: the bundle is intact), `1` the bundle has at least one mismatch,
//! `2` bad usage or unreadable input (including a bundle refused as hostile), `3` (`collect`) a
//! bundle was sealed but the collection stopped early because its destination filled or failed.
//! clap already exits with 2 on a usage error. Commands return an [`ExitCode`]; only `main` turns it into a status.

/// What a command ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The command did its job.
    Success,
    /// `verify` found at least one mismatch (each one was printed).
    Mismatch,
    /// Bad usage, unreadable or refused input, or no usable output could be written.
    Error,
    /// `collect`: the bundle is sealed (manifest, custody record, `SHA256SUMS`) but incomplete —
    /// the destination filled or failed part-way; custody and the manifest say what is missing.
    Incomplete,
    /// `collect`: the bundle is sealed, but evidence it must hold (mail logs, mail
    /// configuration) was refused to the collector (not root, an access policy); custody's
    /// `shortfall` says which. `--allow-partial` turns this into [`ExitCode::Success`].
    Partial,
}

impl ExitCode {
    /// The numeric process status.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Mismatch => 1,
            ExitCode::Error => 2,
            ExitCode::Incomplete => 3,
            ExitCode::Partial => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode;

    #[test]
    fn codes_follow_the_contract() {
        assert_eq!(ExitCode::Success.code(), 0);
        assert_eq!(ExitCode::Mismatch.code(), 1);
        assert_eq!(ExitCode::Error.code(), 2);
        assert_eq!(ExitCode::Incomplete.code(), 3);
        assert_eq!(ExitCode::Partial.code(), 4);
    }
}
