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
mod outfile;
#[cfg(feature = "analysis")]
mod parse;
#[cfg(feature = "analysis")]
mod report;
mod sanitize;
#[cfg(feature = "analysis")]
mod timeline;
#[cfg(feature = "analysis")]
mod triage;

use clap::Parser;

/// The analysis build allocates and frees small strings across threads at a high rate (facts
/// made by parser threads, dropped by the detection thread); mimalloc does that several
/// times cheaper than glibc. The lean collector keeps the system allocator.
#[cfg(feature = "analysis")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its option number in the v3 allocator the crate
/// builds by default).
#[cfg(feature = "analysis")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory instead of handing it back to the kernel 10 ms later: a run frees and
/// reallocates chunk-sized batches all the time, and every purge made the kernel zero fresh
/// (huge) pages again — about 3,700 page faults per GB of log, 600 without. The peak is
/// bounded by design (`detect` seals its state), so keeping it costs nothing more.
#[cfg(feature = "analysis")]
fn tune_allocator() {
    // SAFETY: sets a documented allocator option before any worker thread starts.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

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
        #[cfg(feature = "analysis")]
        Command::Timeline(args) => timeline::run(&args.resolve()?),
        #[cfg(feature = "analysis")]
        Command::Report(args) => report::run(&args.resolve()?),
        #[cfg(feature = "analysis")]
        Command::Triage(args) => triage::run(&args.resolve()?),
        #[cfg(feature = "analysis")]
        Command::Rules { format } => {
            print!("{}", format.render());
            Ok(ExitCode::Success)
        }
    }
}

fn main() {
    #[cfg(feature = "analysis")]
    tune_allocator();
    let code = match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mailir: {}", sanitize::terminal(&format!("{e:#}")));
            ExitCode::Error
        }
    };
    std::process::exit(code.code());
}
