//! `exchange.proxylogon_oab_write` — CVE-2021-26858: the OAB generator reports a temporary
//! file it had to remove outside its own folder — the trace of an arbitrary file write.
//!
//! **Why**: the post-authentication write used in the 2021 attacks to drop web shells
//! (`aspnet_client`, `owa\auth`). **How** (parity with `Test-ProxyLogon.ps1`): a
//! `file_write` from the OABGenerator log (`Download failed and temporary file <path> needs
//! to be removed`) whose path is not under Exchange's `ClientAccess\OAB` folder. One
//! finding listing the paths. **ATT&CK**: T1505.003 (Web Shell), T1190. **Phase**:
//! persistence. **Severity**: critical. **False positives**: an Exchange installed with a
//! non-default OAB path — check the path against the installation.

use super::cloud::{detail_of, some, Group};
use super::{Files, Rule, Shared, Thresholds};
use crate::detect::fact::Fact;
use crate::detect::finding::{Finding, Severity};
use crate::events::record::Kind;

/// Whether a path the OAB generator removed lies outside its own folder.
pub fn outside_oab(path: &str) -> bool {
    let p = path.to_ascii_lowercase().replace('/', "\\");
    !p.contains("\\clientaccess\\oab\\")
}

/// The rule.
pub struct OabWrite {
    group: Group,
}

impl OabWrite {
    /// A new rule.
    pub fn new(_t: &Thresholds) -> Self {
        OabWrite {
            group: Group::default(),
        }
    }
}

impl Rule for OabWrite {
    fn kinds(&self) -> super::Kinds {
        super::Kinds::of(&[Kind::FileWrite])
    }

    fn observe(&mut self, f: &Fact) {
        let Some(path) = detail_of(f, Kind::FileWrite).and_then(|d| d.path) else {
            return;
        };
        if outside_oab(&path) {
            self.group.add(f);
            self.group.names.insert(path);
        }
    }

    fn finish(&mut self, files: &Files, _shared: &Shared) -> Vec<Finding> {
        if self.group.count == 0 {
            return Vec::new();
        }
        let g = std::mem::take(&mut self.group);
        vec![g.finding(
            "exchange.proxylogon_oab_write",
            Severity::Critical,
            vec!["T1505.003", "T1190"],
            "Files written outside the OAB folder (CVE-2021-26858)".to_string(),
            format!(
                "the OAB generator removed {} temporary file(s) outside ClientAccess\\OAB: {}",
                g.count,
                some(&g.names, 5)
            ),
            vec!["clean.remove_webshells", "clean.patch_exchange"],
            files,
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::outside_oab;

    #[test]
    fn oab_paths() {
        assert!(outside_oab(
            r"C:\inetpub\wwwroot\aspnet_client\discover.aspx"
        ));
        assert!(!outside_oab(
            r"C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\OAB\Temp\a.tmp"
        ));
    }
}
