//! Damage to a bundle: every change is named by `verify` (exit 1); hostile or unreadable
//! bundles are refused (exit 2).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::util::{self, collect, run};

fn bundle(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    collect(&util::sample(), &out);
    out
}

fn flip(path: &Path, offset: usize) {
    let mut b = fs::read(path).unwrap();
    b[offset] ^= 0x20;
    fs::write(path, b).unwrap();
}

fn verify(p: &Path) -> util::Output {
    run(&["verify", p.to_str().unwrap()])
}

#[test]
fn flipped_byte_in_a_directory_bundle_names_the_file() {
    let t = tempfile::tempdir().unwrap();
    let out = bundle(t.path(), "b");
    flip(&out.join("files/etc/postfix/main.cf"), 100);
    let v = verify(&out);
    assert_eq!(v.code, 1, "{}", v.stdout);
    assert!(
        v.stdout.contains("altered: files/etc/postfix/main.cf"),
        "{}",
        v.stdout
    );
    assert!(v.stdout.contains("FAILED"));
}

/// Offset of the first data byte of `name` in a zip (local header + name + extra).
fn zip_data_offset(zip: &Path, name: &str) -> (usize, usize) {
    let mut z = zip::ZipArchive::new(fs::File::open(zip).unwrap()).unwrap();
    let f = z.by_name(name).unwrap();
    let start = f.header_start() as usize;
    let size = f.compressed_size() as usize;
    let bytes = fs::read(zip).unwrap();
    let n = u16::from_le_bytes([bytes[start + 26], bytes[start + 27]]) as usize;
    let e = u16::from_le_bytes([bytes[start + 28], bytes[start + 29]]) as usize;
    (start + 30 + n + e, size)
}

#[test]
fn flipped_byte_in_a_zip_bundle_names_the_file() {
    let t = tempfile::tempdir().unwrap();
    let out = bundle(t.path(), "b.zip");
    // With the sidecar in place any changed byte of the archive fails verification.
    let copy = t.path().join("c.zip");
    fs::copy(&out, &copy).unwrap();
    fs::copy(t.path().join("b.zip.sha256"), t.path().join("c.zip.sha256")).unwrap();
    let (data, size) = zip_data_offset(&copy, "files/etc/postfix/transport.db");
    flip(&copy, data + size / 2);
    let v = verify(&copy);
    assert_eq!(v.code, 1, "{}{}", v.stdout, v.stderr);
    assert!(
        v.stdout.contains("per the sidecar") || v.stdout.contains("the sidecar"),
        "{}",
        v.stdout
    );
    // Without it, the entry whose content changed is named. (A flip inside a deflate run of
    // zeros can leave the content intact; text entries have no such runs.)
    fs::remove_file(t.path().join("b.zip.sha256")).unwrap();
    for name in [
        "files/var/log/mail.log.1",
        "files/etc/postfix/main.cf",
        "volatile/mailboxes.jsonl",
        "manifest.jsonl",
    ] {
        let copy = t.path().join("d.zip");
        fs::copy(&out, &copy).unwrap();
        let (data, size) = zip_data_offset(&copy, name);
        flip(&copy, data + size / 2);
        let v = verify(&copy);
        assert_eq!(v.code, 1, "{name}: {}{}", v.stdout, v.stderr);
        assert!(v.stdout.contains(name), "{name} not named: {}", v.stdout);
        fs::remove_file(&copy).unwrap();
    }
}

#[test]
fn flipped_byte_in_a_tar_gz_bundle_is_reported() {
    let t = tempfile::tempdir().unwrap();
    let out = bundle(t.path(), "b.tar.gz");
    let v = verify(&out);
    assert_eq!(v.code, 0, "{}", v.stdout);
    let len = fs::metadata(&out).unwrap().len() as usize;
    flip(&out, len / 2);
    let v = verify(&out);
    assert_eq!(v.code, 1, "{}{}", v.stdout, v.stderr);
    // The sidecar no longer matches, and the damaged stream is located by entry.
    assert!(
        v.stdout.contains("altered:") || v.stdout.contains("unreadable:"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout.contains("files/") || v.stdout.contains("after entry"),
        "{}",
        v.stdout
    );
}

#[test]
fn missing_extra_and_relisted_files_are_named() {
    let t = tempfile::tempdir().unwrap();
    let out = bundle(t.path(), "b");
    fs::remove_file(out.join("files/home/liwei/.forward")).unwrap();
    fs::write(out.join("files/etc/postfix/planted-later.cf"), b"x").unwrap();
    let v = verify(&out);
    assert_eq!(v.code, 1);
    assert!(
        v.stdout
            .contains("missing: files/home/liwei/.forward (listed in SHA256SUMS)"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout
            .contains("missing: files/home/liwei/.forward (listed in manifest.jsonl)"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout
            .contains("extra: files/etc/postfix/planted-later.cf (not in SHA256SUMS)"),
        "{}",
        v.stdout
    );
}

#[test]
fn a_consistent_rewrite_of_the_manifest_is_caught_by_custody_and_sidecar() {
    let t = tempfile::tempdir().unwrap();
    let out = bundle(t.path(), "b");
    // Drop one row and re-hash SHA256SUMS so that file and list agree again.
    let m = fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    let kept: String = m
        .lines()
        .filter(|l| !l.contains("\"/etc/postfix/recipient_bcc\""))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(kept.len(), m.len());
    fs::write(out.join("manifest.jsonl"), &kept).unwrap();
    let sums = fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let new_sha = mailir_sha(&out.join("manifest.jsonl"));
    let sums: String = sums
        .lines()
        .map(|l| {
            if l.ends_with("  manifest.jsonl") {
                format!("{new_sha}  manifest.jsonl\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    fs::write(out.join("SHA256SUMS"), sums).unwrap();
    let v = verify(&out);
    assert_eq!(v.code, 1);
    assert!(v.stdout.contains("altered: manifest.jsonl"), "{}", v.stdout);
    assert!(
        v.stdout.contains("per") || v.stdout.contains("custody.json"),
        "{}",
        v.stdout
    );
    assert!(
        v.stdout
            .contains("extra: files/etc/postfix/recipient_bcc (not in manifest.jsonl)"),
        "{}",
        v.stdout
    );
    assert!(v.stdout.contains("the sidecar"), "{}", v.stdout);
}

fn mailir_sha(p: &Path) -> String {
    let o = std::process::Command::new("sha256sum")
        .arg(p)
        .output()
        .unwrap();
    String::from_utf8(o.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn assert_refused(p: &Path, why: &str) {
    let v = verify(p);
    assert_eq!(v.code, 2, "{}{}", v.stdout, v.stderr);
    assert!(v.stderr.contains("refusing hostile bundle"), "{}", v.stderr);
    assert!(v.stderr.contains(why), "{why} not in {}", v.stderr);
}

#[test]
fn hostile_zips_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let opts = zip::write::SimpleFileOptions::default();
    for (i, name) in ["../../etc/cron.d/evil", "/etc/passwd", "files/a/../../../x"]
        .iter()
        .enumerate()
    {
        let p = t.path().join(format!("h{i}.zip"));
        let mut z = zip::ZipWriter::new(fs::File::create(&p).unwrap());
        z.start_file("SHA256SUMS", opts).unwrap();
        z.start_file(*name, opts).unwrap();
        z.write_all(b"* * * * * root sh").unwrap();
        z.finish().unwrap();
        assert_refused(
            &p,
            if name.starts_with('/') {
                "absolute"
            } else {
                "parent-directory"
            },
        );
    }
    let p = t.path().join("link.zip");
    let mut z = zip::ZipWriter::new(fs::File::create(&p).unwrap());
    z.add_symlink("files/etc/passwd", "/etc/passwd", opts)
        .unwrap();
    z.finish().unwrap();
    assert_refused(&p, "symbolic link");
}

#[test]
fn zip_bomb_by_declared_size_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("bomb.zip");
    let mut z = zip::ZipWriter::new(fs::File::create(&p).unwrap());
    z.start_file(
        "files/var/log/mail.log",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    z.write_all(&[0u8; 4096]).unwrap();
    z.finish().unwrap();
    // Claim 300 MiB uncompressed for a ~20-byte deflate stream, in the central directory.
    let mut b = fs::read(&p).unwrap();
    let cd = b.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    b[cd + 24..cd + 28].copy_from_slice(&(300u32 << 20).to_le_bytes());
    fs::write(&p, b).unwrap();
    assert_refused(&p, "zip bomb");
}

#[test]
fn hostile_tars_are_refused() {
    let t = tempfile::tempdir().unwrap();
    // A symlink entry.
    let p = t.path().join("link.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            fs::File::create(&p).unwrap(),
            flate2::Compression::fast(),
        );
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "files/etc/passwd", "/etc/passwd")
            .unwrap();
        b.into_inner().unwrap().finish().unwrap();
    }
    assert_refused(&p, "Symlink");
    // A `..` name written straight into the header, and an absurd declared size.
    for (name, size, why) in [
        (&b"files/../../x"[..], 4u64, "parent-directory"),
        (&b"files/huge"[..], 2u64 << 40, "declared size"),
    ] {
        let p = t.path().join("h.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            fs::File::create(&p).unwrap(),
            flate2::Compression::fast(),
        );
        let mut raw = gz;
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_size(size);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        raw.write_all(h.as_bytes()).unwrap();
        raw.write_all(&[0u8; 1024]).unwrap();
        raw.finish().unwrap();
        assert_refused(&p, why);
        fs::remove_file(&p).unwrap();
    }
}

#[test]
fn unreadable_bundles_exit_2_naming_the_file() {
    let t = tempfile::tempdir().unwrap();
    let out = bundle(t.path(), "b.zip");
    let len = fs::metadata(&out).unwrap().len();
    let f = fs::OpenOptions::new().write(true).open(&out).unwrap();
    f.set_len(len / 3).unwrap();
    let v = verify(&out);
    assert_eq!(v.code, 2, "{}{}", v.stdout, v.stderr);
    assert!(v.stderr.contains("b.zip"), "{}", v.stderr);
    let v = verify(&t.path().join("nope.zip"));
    assert_eq!(v.code, 2);
    assert!(v.stderr.contains("nope.zip"));
}
