//! Bad inputs are reported (naming the input), the rest is imported, exit codes are exact.

use std::io::Write;

use crate::util::{ProblemJson, data_bytes, data_lines, gzip, split_lines, syslog, twtest};

const SYSLOG: &str = "twsla-testlog/syslog.log";

fn problem(source: &str, line: Option<u64>, kind: &str, message: &str) -> ProblemJson {
    ProblemJson { source: source.into(), line, kind: kind.into(), message: message.into() }
}

twtest!(missing_file_and_good_file, |dir| {
    let good = syslog();
    let (out, s) = dir.import(&["no-such-file.log".as_ref(), good.as_os_str()]);
    out.code(1);
    assert_eq!((s.files, s.records), (1, 2000));
    assert_eq!(s.problems.len(), 1);
    let p = &s.problems[0];
    assert_eq!(
        (p.source.as_str(), p.line, p.kind.as_str()),
        ("no-such-file.log", None, "unreadable")
    );
    assert!(p.message.contains("No such file"), "{p:?}");
    assert_eq!(out.warnings(), [format!("twsla: warning: no-such-file.log: {}", p.message)]);
    assert_eq!(dir.search::<&str>(&[]).len(), 2000);
    // Only missing files: exit 1 and no records.
    let (out, s) = dir.import(&["a-missing.log", "b-missing.log"]);
    out.code(1);
    assert_eq!(s.problems.len(), 2);
    assert_eq!(s.records, 0);
});

twtest!(binary_file_is_reported_not_imported, |dir| {
    let mut b = b"2024-01-01 00:00:00 looks like a log\n".to_vec();
    b.extend_from_slice(&[0, 1, 2, 3, 0xff, 0]);
    b.extend_from_slice(b"\n2024-01-01 00:00:01 more\n");
    let bin = dir.write("core.log", &b);
    let (out, s) = dir.import(&[&bin, &syslog()]);
    out.code(1);
    assert_eq!(s.records, 2000);
    assert_eq!(
        s.problems,
        [problem(
            bin.to_str().unwrap(),
            None,
            "binary",
            "binary file (NUL bytes in the first 8 KiB); not imported"
        )]
    );
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(rows.len(), 2000);
    assert!(rows.iter().all(|r| !r.source.ends_with("core.log")));
});

twtest!(long_line_is_skipped_and_reported, |dir| {
    let lines = data_lines(SYSLOG);
    let mut body = Vec::new();
    for l in &lines[..3] {
        writeln!(body, "{l}").unwrap();
    }
    let long_len = 5 << 20;
    body.extend_from_slice(b"Jun 14 15:16:03 ");
    body.extend(std::iter::repeat_n(b'x', long_len - 16));
    body.push(b'\n');
    for l in &lines[3..10] {
        writeln!(body, "{l}").unwrap();
    }
    let f = dir.write("long.log", &body);
    let (out, s) = dir.import(&[&f]);
    out.code(1);
    assert_eq!((s.lines, s.records, s.skipped_lines), (11, 10, 1));
    assert_eq!(s.bytes, body.len() as u64);
    assert_eq!(
        s.problems,
        [problem(
            f.to_str().unwrap(),
            Some(4),
            "long_line",
            &format!(
                "line of {long_len} bytes is longer than the limit of 4194304 bytes; skipped (raise it with --maxLine)"
            )
        )]
    );
    assert_eq!(out.warnings().len(), 1);
    assert!(out.warnings()[0].starts_with(&format!("twsla: warning: {}:4: line of", f.display())));
    let rows = dir.rows::<&str>(&[]);
    let got: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.text.as_str())).collect();
    let mut want: Vec<(u64, &str)> = (1..=3).map(|i| (i as u64, lines[i - 1].as_str())).collect();
    want.extend((5..=11).map(|i| (i as u64, lines[i - 2].as_str())));
    // Sorted by time; the file lines are in time order here.
    assert_eq!(got, want);
});

twtest!(max_line_option, |dir| {
    let f = dir.write(
        "m.log",
        "2024-01-01 00:00:00 short\n2024-01-01 00:00:01 this line is longer than forty bytes\n2024-01-01 00:00:02 ok\n",
    );
    let (out, s) = dir.import(&["--maxLine".as_ref(), "40".as_ref(), f.as_os_str()]);
    out.code(1);
    assert_eq!((s.records, s.skipped_lines), (2, 1));
    assert_eq!(s.problems.len(), 1);
    assert_eq!((s.problems[0].line, s.problems[0].kind.as_str()), (Some(2), "long_line"));
    let texts: Vec<String> = dir.rows::<&str>(&[]).into_iter().map(|r| r.text).collect();
    assert_eq!(texts, ["2024-01-01 00:00:00 short", "2024-01-01 00:00:02 ok"]);
});

/// `n` copies of syslog.log, each followed by CRLF.
fn big_syslog_copies(n: usize) -> Vec<u8> {
    let one = data_bytes(SYSLOG);
    let mut v = Vec::new();
    for _ in 0..n {
        v.extend_from_slice(&one);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Complete lines of the gzip prefix `gz` decompresses to (up to the first error).
fn decodable_prefix(gz: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut d = flate2::read::MultiGzDecoder::new(gz);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match d.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

twtest!(truncated_gzip_keeps_what_came_before, |dir| {
    let body = big_syslog_copies(10); // 2.2 MB of text
    let gz = gzip(&body);
    let cut = &gz[..gz.len() / 2];
    let f = dir.write("cut.log.gz", cut);
    let (out, s) = dir.import(&[&f]);
    out.code(1);
    let prefix = decodable_prefix(cut);
    assert!(prefix.len() > 1 << 20 && prefix.len() < body.len());
    let lines = split_lines(&prefix);
    assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
    let p = &s.problems[0];
    assert_eq!(
        (p.source.as_str(), p.line, p.kind.as_str()),
        (f.to_str().unwrap(), None, "corrupt")
    );
    assert!(p.message.contains("what came before was imported"), "{p:?}");
    // Everything decodable is kept, the partial last line included.
    assert_eq!(
        (s.lines, s.records, s.bytes),
        (lines.len() as u64, lines.len() as u64, prefix.len() as u64)
    );
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(rows.len(), lines.len());
    let mut by_line: Vec<(u64, String)> = rows.into_iter().map(|r| (r.line, r.text)).collect();
    by_line.sort();
    for (i, (n, t)) in by_line.iter().enumerate() {
        assert_eq!(*n, i as u64 + 1);
        assert_eq!(t.as_bytes(), lines[i].as_slice());
    }
});

twtest!(truncated_small_gzip_keeps_what_came_before, |dir| {
    let gz = gzip(&data_bytes(SYSLOG));
    let cut = &gz[..gz.len() / 2];
    let f = dir.write("cut.log.gz", cut);
    let (out, s) = dir.import(&[&f]);
    out.code(1);
    assert_eq!(s.problems.len(), 1);
    assert_eq!(s.problems[0].kind, "corrupt");
    let complete = split_lines(&decodable_prefix(cut)).len() as u64 - 1;
    assert!(complete > 1000);
    assert!(s.records >= complete, "records {} < {complete} decodable lines", s.records);
});

twtest!(corrupt_zip, |dir| {
    let z = dir.write("bad.zip", b"PK\x03\x04 this is not really a zip archive");
    let (out, s) = dir.import(&[&z, &syslog()]);
    out.code(1);
    assert_eq!(s.records, 2000);
    assert_eq!(s.problems.len(), 1);
    let p = &s.problems[0];
    assert_eq!(
        (p.source.as_str(), p.line, p.kind.as_str()),
        (z.to_str().unwrap(), None, "corrupt")
    );
    assert!(p.message.starts_with("corrupt or truncated zip archive"), "{p:?}");
    // A zip with a damaged member: the member is reported by name, the others import.
    let good = data_bytes("loghub/OpenSSH/OpenSSH_2k.log");
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zw.start_file("damaged.log", opts).unwrap();
    zw.write_all(&data_bytes(SYSLOG)).unwrap();
    zw.start_file("fine.log", opts).unwrap();
    zw.write_all(&good).unwrap();
    let mut bytes = zw.finish().unwrap().into_inner();
    let at = bytes.windows(15).position(|w| w == b"Jul 27 14:42:00").unwrap();
    bytes[at + 5] ^= 1; // CRC mismatch in damaged.log
    let z2 = dir.write("damaged.zip", &bytes);
    let store = dir.join("s2");
    let out = dir.cmd_on(&store, "import").arg("--ndjson").arg(&z2).run();
    out.code(1);
    let s = out.summary();
    assert_eq!(s.problems.len(), 1);
    assert_eq!(s.problems[0].source, format!("{}:damaged.log", z2.display()));
    assert_eq!(s.problems[0].kind, "corrupt");
    let rows = dir.cmd_on(&store, "search").arg("--ndjson").run().rows();
    let fine = rows.iter().filter(|r| r.source == format!("{}:fine.log", z2.display())).count();
    assert_eq!(fine, 2000);
});

twtest!(evtx_is_reported_unsupported, |dir| {
    let ev = crate::util::data("twsla-testlog/winevent.evtx");
    let (out, s) = dir.import(&[&ev, &syslog()]);
    out.code(1);
    assert_eq!(s.records, 2000);
    assert_eq!(s.problems.len(), 1);
    assert_eq!(
        (s.problems[0].source.as_str(), s.problems[0].kind.as_str()),
        (ev.to_str().unwrap(), "unsupported")
    );
});

twtest!(gzip_garbage_after_magic, |dir| {
    let mut b = gzip(b"");
    b.truncate(3);
    b.extend_from_slice(b"garbage garbage");
    let f = dir.write("g.gz", &b);
    let (out, s) = dir.import(&[&f]);
    out.code(1);
    assert_eq!(s.records, 0);
    assert_eq!(s.problems.len(), 1);
    assert_eq!(s.problems[0].kind, "corrupt");
    // The store stays usable.
    dir.import(&[&syslog()]).0.code(0);
    dir.cmd("verify").run().code(0);
});

twtest!(empty_file, |dir| {
    let f = dir.write("empty.log", b"");
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!((s.files, s.lines, s.records), (1, 0, 0));
});

/// A CRLF file where line `target` is exactly `len` bytes long and its `\r` is the last byte
/// of the first MiB (the importer's first read), its `\n` the first byte after it.
fn crlf_line_across_first_mib(len: usize) -> (Vec<u8>, u64) {
    const MIB: usize = 1 << 20;
    let line = |i: usize, n: usize| {
        let mut l = format!("2024-01-01 00:00:{:02} n{i} ", i % 60).into_bytes();
        assert!(l.len() < n, "{n}");
        l.resize(n, b'x');
        l.extend_from_slice(b"\r\n");
        l
    };
    let mut out = Vec::new();
    let mut i = 0;
    let start = MIB - 1 - len; // where the target line must begin
    while start - out.len() >= 128 {
        out.extend(line(i, 62));
        i += 1;
    }
    let d = start - out.len(); // 0..128 bytes left: one or two filler lines
    if d >= 64 {
        out.extend(line(i, d / 2 - 2));
        i += 1;
        out.extend(line(i, d - d / 2 - 2));
        i += 1;
    } else if d > 0 {
        out.extend(line(i, d - 2));
        i += 1;
    }
    assert_eq!(out.len(), start);
    out.extend(line(i, len));
    i += 1;
    let target = i as u64;
    assert_eq!(&out[MIB - 1..MIB + 1], b"\r\n");
    for _ in 0..3 {
        out.extend(line(i, 40));
        i += 1;
    }
    (out, target)
}

twtest!(line_of_exactly_max_line_bytes_is_kept, |dir| {
    // A line of exactly --maxLine bytes is kept; with one byte less every line is too long.
    let mut body = Vec::new();
    let mut i = 0;
    while body.len() < 3000 {
        body.extend_from_slice(
            format!("2024-01-01 00:00:{:02} line {i:04} {}\n", i % 60, "y".repeat(50)).as_bytes(),
        );
        i += 1;
    }
    let max = body.iter().position(|&b| b == b'\n').unwrap(); // length of every line
    let f = dir.write("lf.log", &body);
    let (out, s) = dir.import(&["--maxLine".as_ref(), max.to_string().as_ref(), f.as_os_str()]);
    out.code(0);
    assert_eq!((s.records, s.skipped_lines), (i as u64, 0));
    let (out, s) = dir.import(&[
        "--maxLine".as_ref(),
        (max - 1).to_string().as_ref(),
        dir.write("lf2.log", &body).as_os_str(),
    ]);
    out.code(1);
    assert_eq!((s.records, s.skipped_lines), (0, i as u64));
});

twtest!(crlf_line_of_max_line_bytes_at_read_boundary, |dir| {
    let (body, target) = crlf_line_across_first_mib(100);
    let f = dir.write("edge.log", &body);
    let (out, s) = dir.import(&["--maxLine".as_ref(), "100".as_ref(), f.as_os_str()]);
    assert!(s.problems.is_empty(), "line {target}: {:?}", s.problems);
    out.code(0);
    assert_eq!(s.records, split_lines(&body).len() as u64);
});
