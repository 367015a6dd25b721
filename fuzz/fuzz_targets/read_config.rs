//! Fuzz target: the configuration readers (`hostconf`) on arbitrary bytes — Postfix
//! main.cf/master.cf, Exim (monolithic, Debian's split fragments, lsearch files), Sendmail's
//! m4 `.mc` and `.cf`, map and alias sources, per-user delivery files. No input may panic.
//! The first byte picks the host path the rest is stored at, so one input exercises one
//! reader as the host would. Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run read_config` (see
//! docs/threat-model.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailir::hostconf::{self, ConfFile, HostConf};

const PATHS: [&str; 12] = [
    "/etc/postfix/main.cf",
    "/etc/postfix/master.cf",
    "/etc/exim4/exim4.conf.template",
    "/etc/exim4/conf.d/router/350_local",
    "/etc/exim4/update-exim4.conf.conf",
    "/etc/mail/sendmail.mc",
    "/etc/mail/sendmail.cf",
    "/etc/mail/access",
    "/etc/aliases",
    "/home/u/.forward",
    "/home/u/.procmailrc",
    "/home/u/sieve/a.sieve",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let path = PATHS[pick as usize % PATHS.len()];
    let mut conf = HostConf::default();
    conf.files.insert(
        path.to_string(),
        ConfFile {
            shown: path.trim_start_matches('/').to_string(),
            data: rest.to_vec(),
            mtime: None,
            mtime_recorded: false,
            sha256: None,
        },
    );
    let text = String::from_utf8_lossy(rest);
    let _ = hostconf::exim::read(&conf);
    let _ = hostconf::exim::lsearch(&text);
    let _ = hostconf::exim::lsearch_files(&text);
    let _ = hostconf::sendmail::Sendmail::read(&conf);
    let _ = hostconf::sendmail::next_hop(&text);
    let _ = hostconf::postfix::MainCf::parse(&text);
    let _ = hostconf::postfix::master(&text);
    let _ = hostconf::maps::table(&text);
    let _ = hostconf::maps::aliases(&text);
    let _ = hostconf::maps::patterns(&text);
    let _ = hostconf::delivery::of_file(path, &text);
});
