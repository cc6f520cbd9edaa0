//! Compressed files and archives, built inside the test from the corpora.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::util::{Row, data_bytes, data_lines, gzip, twtest};

const SYSLOG: &str = "twsla-testlog/syslog.log";
const SSH: &str = "loghub/OpenSSH/OpenSSH_2k.log";

/// Records per `source`.
fn per_source(rows: &[Row]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(r.source.clone()).or_insert(0) += 1;
    }
    m
}

fn zip_file(path: &Path, members: &[(&str, Vec<u8>)], method: zip::CompressionMethod) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, body) in members {
        z.start_file(*name, opts).unwrap();
        z.write_all(body).unwrap();
    }
    z.finish().unwrap();
}

fn tar_bytes(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append_data(&mut h, name, body.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// Each member's rows carry the text of the member's lines, numbered from 1.
fn check_member(rows: &[Row], source: &str, rel: &str) {
    let lines = data_lines(rel);
    let mut got: Vec<&Row> = rows.iter().filter(|r| r.source == source).collect();
    got.sort_by_key(|r| r.line);
    assert_eq!(got.len(), lines.len(), "{source}");
    for (r, (i, l)) in got.iter().zip(lines.iter().enumerate()) {
        assert_eq!((r.line, &r.text), (i as u64 + 1, l), "{source}");
    }
}

twtest!(gzip_file, |dir| {
    let gz = dir.write("syslog.log.gz", gzip(&data_bytes(SYSLOG)));
    let (out, s) = dir.import(&[&gz]);
    out.code(0);
    assert_eq!((s.files, s.lines, s.records), (1, 2000, 2000));
    assert_eq!(s.bytes, data_bytes(SYSLOG).len() as u64, "bytes count decompressed data");
    let rows = dir.rows::<&str>(&[]);
    check_member(&rows, gz.to_str().unwrap(), SYSLOG);
    assert_eq!(rows[0].time, "2005-06-14T15:16:01.000000000Z");
});

twtest!(gzip_detected_by_magic_without_extension, |dir| {
    let f = dir.write("x.log", gzip(&data_bytes(SYSLOG)));
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!(s.records, 2000);
    check_member(&dir.rows::<&str>(&[]), f.to_str().unwrap(), SYSLOG);
    // And a plain text file named .gz is read as text.
    let t = dir.write("plain.gz", data_bytes(SSH));
    let (out, s) = dir.import(&[&t]);
    out.code(0);
    assert_eq!(s.records, 2000);
});

twtest!(zip_members_and_file_pattern, |dir| {
    let z = dir.join("logs.zip");
    zip_file(
        &z,
        &[
            ("logs/syslog.log", data_bytes(SYSLOG)),
            ("logs/ssh.log", data_bytes(SSH)),
            ("notes.txt", b"2024/01/01 00:00:00 must be filtered out by -p\n".to_vec()),
            ("inner/syslog.log.gz", gzip(&data_bytes(SYSLOG))),
        ],
        zip::CompressionMethod::Deflated,
    );
    let (out, s) = dir.import(&["-p".as_ref(), "*.log*".as_ref(), z.as_os_str()]);
    out.code(0);
    assert_eq!((s.files, s.lines, s.records), (3, 6000, 6000));
    let rows = dir.rows::<&str>(&[]);
    let zs = z.display().to_string();
    let want: BTreeMap<String, usize> = [
        (format!("{zs}:inner/syslog.log.gz"), 2000),
        (format!("{zs}:logs/ssh.log"), 2000),
        (format!("{zs}:logs/syslog.log"), 2000),
    ]
    .into();
    assert_eq!(per_source(&rows), want);
    check_member(&rows, &format!("{zs}:logs/syslog.log"), SYSLOG);
    check_member(&rows, &format!("{zs}:logs/ssh.log"), SSH);
    check_member(&rows, &format!("{zs}:inner/syslog.log.gz"), SYSLOG);
    assert!(rows.iter().all(|r| !r.text.contains("filtered out")));
    // Without -p every member is read.
    let all = dir.join("all");
    let out = dir.cmd_on(&all, "import").arg("--ndjson").arg(&z).run();
    out.code(0);
    assert_eq!(out.summary().records, 6001);
});

twtest!(stored_zip, |dir| {
    let z = dir.join("stored.zip");
    zip_file(&z, &[("a.log", data_bytes(SSH))], zip::CompressionMethod::Stored);
    let (out, s) = dir.import(&[&z]);
    out.code(0);
    assert_eq!(s.records, 2000);
    check_member(&dir.rows::<&str>(&[]), &format!("{}:a.log", z.display()), SSH);
});

twtest!(tar_and_tar_gz, |dir| {
    let members = [("dir/syslog.log", data_bytes(SYSLOG)), ("ssh.log", data_bytes(SSH))];
    let t = dir.write("logs.tar", tar_bytes(&members));
    let tgz = dir.write("logs.tar.gz", gzip(&tar_bytes(&members)));
    let tgz_no_ext = dir.write("logs.bin", gzip(&tar_bytes(&members)));
    for a in [&t, &tgz, &tgz_no_ext] {
        let store = dir.join(&format!("store-{}", a.file_name().unwrap().to_string_lossy()));
        let out = dir.cmd_on(&store, "import").arg("--ndjson").arg(a).run();
        out.code(0);
        let s = out.summary();
        assert_eq!((s.files, s.lines, s.records), (2, 4000, 4000), "{}", a.display());
        let rows = dir.cmd_on(&store, "search").arg("--ndjson").run().rows();
        let a = a.display().to_string();
        check_member(&rows, &format!("{a}:dir/syslog.log"), SYSLOG);
        check_member(&rows, &format!("{a}:ssh.log"), SSH);
        assert_eq!(per_source(&rows).len(), 2);
    }
});

twtest!(tar_member_gzipped, |dir| {
    let t = dir.write("nested.tar", tar_bytes(&[("a/syslog.log.gz", gzip(&data_bytes(SYSLOG)))]));
    let (out, s) = dir.import(&[&t]);
    out.code(0);
    assert_eq!(s.records, 2000);
    check_member(&dir.rows::<&str>(&[]), &format!("{}:a/syslog.log.gz", t.display()), SYSLOG);
});

twtest!(directory_source_with_pattern, |dir| {
    dir.write("in/a.log", data_bytes(SYSLOG));
    dir.write("in/sub/b.log.gz", gzip(&data_bytes(SSH)));
    dir.write("in/sub/skip.txt", b"2024-01-01 00:00:00 not matched by -p\n");
    let (out, s) = dir.import(&["-p".as_ref(), "*.log*".as_ref(), dir.join("in").as_os_str()]);
    out.code(0);
    assert_eq!((s.files, s.records), (2, 4000));
    let rows = dir.rows::<&str>(&[]);
    check_member(&rows, dir.join("in/a.log").to_str().unwrap(), SYSLOG);
    check_member(&rows, dir.join("in/sub/b.log.gz").to_str().unwrap(), SSH);
    assert_eq!(per_source(&rows).len(), 2);
});

twtest!(file_pattern_matches_tar_and_zip_members_alike, |dir| {
    let members = [("dir/syslog.log", data_bytes(SYSLOG)), ("other/ssh.log", data_bytes(SSH))];
    let t = dir.write("a.tar", tar_bytes(&members));
    let z = dir.join("a.zip");
    zip_file(&z, &members, zip::CompressionMethod::Deflated);
    // `-p dir` names a directory, not a file name: neither archive has a matching member.
    for a in [&z, &t] {
        let store = dir.join(&format!("s-{}", a.file_name().unwrap().to_string_lossy()));
        let out = dir.cmd_on(&store, "import").arg("--ndjson").arg("-p").arg("dir").arg(a).run();
        let s = out.summary();
        assert_eq!(s.records, 0, "{}: -p dir selected {} records", a.display(), s.records);
    }
});
