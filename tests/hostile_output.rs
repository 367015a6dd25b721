//! Output files are never written through a symbolic link planted in the output folder
//! (`docs/threat-model.md`): `report`/`triage --out DIR` with `DIR/report.md` a link to
//! another file, `parse --out` and `timeline --out` onto a link.

use crate::util::{self, run};

#[test]
fn planted_links_in_the_output_are_refused_and_their_targets_untouched() {
    let t = tempfile::tempdir().unwrap();
    let victim = t.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let sample = util::repo().join("samples/compromised-postfix");
    let sample = sample.to_str().unwrap();
    for (cmd, planted) in [
        ("report", "report.md"),
        ("triage", "report.json"),
        ("triage", "timeline.l2t.csv"),
    ] {
        let out = t.path().join(format!("{cmd}-{planted}"));
        std::fs::create_dir_all(&out).unwrap();
        std::os::unix::fs::symlink(&victim, out.join(planted)).unwrap();
        let o = run(&[cmd, sample, "--out", out.to_str().unwrap()]);
        assert_ne!(o.code, 0, "{cmd} wrote through {planted}");
        assert!(o.stderr.contains("symbolic link"), "{}", o.stderr);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }
    for cmd in ["parse", "timeline"] {
        let link = t.path().join(format!("{cmd}.out"));
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let o = run(&[cmd, sample, "--out", link.to_str().unwrap()]);
        assert_ne!(o.code, 0, "{cmd} wrote through its --out link");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }
}
