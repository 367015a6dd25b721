//! mailir: incident response and forensics for compromised mail servers.
//!
//! `main` only parses the command line, resolves it into a typed config and dispatches; each
//! command lives in its module (`collect`, `evidence::verify`) and returns an
//! [`exit_codes::ExitCode`]. Errors that end a command are printed once here (anyhow chain,
//! terminal-escaped) with exit code 2.

mod cli;
mod collect;
#[cfg(feature = "analysis")]
mod detect;
#[cfg(feature = "analysis")]
mod events;
mod evidence;
mod exit_codes;
#[cfg(feature = "analysis")]
mod hostconf;
#[cfg(feature = "analysis")]
mod parse;
mod sanitize;

use clap::Parser;

/// The analysis build allocates and frees small strings across threads at a high rate (facts
/// made by parser threads, dropped by the detection thread); mimalloc does that several
/// times cheaper than glibc. The lean collector keeps the system allocator.
#[cfg(feature = "analysis")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cli::{Cli, Command};
use exit_codes::ExitCode;

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Collect(args) => collect::run(&args.resolve()?),
        Command::Verify { bundle } => Ok(evidence::verify::run(&bundle)),
        #[cfg(feature = "analysis")]
        Command::Parse(args) => parse::run(&args.resolve()?),
        #[cfg(feature = "analysis")]
        Command::Detect(args) => detect::run(&args.resolve()?),
    }
}

fn main() {
    let code = match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mailir: {}", sanitize::terminal(&format!("{e:#}")));
            ExitCode::Error
        }
    };
    std::process::exit(code.code());
}
