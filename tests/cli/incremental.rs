//! Re-imports: unchanged sources add nothing, grown sources add only the new lines.

use crate::util::{TestDir, data_bytes, data_lines, twtest};

const SYSLOG: &str = "twsla-testlog/syslog.log";

/// 10 syslog lines after the end of syslog.log, CRLF-terminated.
fn ten_more() -> (Vec<String>, Vec<u8>) {
    let lines: Vec<String> =
        (1..=10).map(|i| format!("Jul 27 14:43:{i:02} combo appended[{i}]: line {i}")).collect();
    let mut b = Vec::new();
    for l in &lines {
        b.extend_from_slice(l.as_bytes());
        b.extend_from_slice(b"\r\n");
    }
    (lines, b)
}

/// Plain search output of a fresh store holding only `file` (the reference for a re-import).
fn fresh_search(dir: &TestDir, file: &std::path::Path) -> Vec<u8> {
    let store = dir.join("fresh");
    dir.cmd_on(&store, "import").arg(file).run();
    dir.cmd_on(&store, "search").run().stdout
}

twtest!(reimport_unchanged_adds_nothing, |dir| {
    let mut body = data_bytes(SYSLOG);
    body.extend_from_slice(b"\r\n");
    let f = dir.write("f.log", &body);
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!(s.records, 2000);
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!((s.files, s.lines, s.bytes, s.records, s.unchanged, s.segments), (1, 0, 0, 0, 1, 0));
    assert!(s.problems.is_empty());
    assert_eq!(dir.search::<&str>(&[]).len(), 2000);
    // The same file through another spelling of its path is the same source.
    let out = dir.cmd("import").arg("--ndjson").arg("./f.log").run();
    out.code(0);
    assert_eq!(out.summary().unchanged, 1);
    assert_eq!(dir.search::<&str>(&[]).len(), 2000);
});

twtest!(appended_lines_are_added_with_continuing_line_numbers, |dir| {
    let mut body = data_bytes(SYSLOG);
    body.extend_from_slice(b"\r\n");
    let f = dir.write("f.log", &body);
    dir.import(&[&f]).0.code(0);
    let (lines, more) = ten_more();
    dir.append("f.log", &more);
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!((s.lines, s.records, s.unchanged, s.bytes), (10, 10, 0, more.len() as u64));
    let rows = dir.rows(&["appended"]);
    let got: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.text.as_str())).collect();
    let want: Vec<(u64, &str)> =
        lines.iter().enumerate().map(|(i, l)| (2001 + i as u64, l.as_str())).collect();
    assert_eq!(got, want);
    assert_eq!(rows[0].time, "2005-07-27T14:43:01.000000000Z");
    assert_eq!(dir.search::<&str>(&[]).len(), 2010);
    // Same result as importing the final file from scratch.
    assert_eq!(dir.cmd("search").run().stdout, fresh_search(&dir, &f));
    // And once more: unchanged.
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!((s.records, s.unchanged), (0, 1));
});

twtest!(appended_continuation_line_gets_the_last_time, |dir| {
    let f = dir.write("c.log", "2024-01-01 00:00:00 a\n2024-01-01 00:00:05 b\n");
    dir.import(&[&f]).0.code(0);
    dir.append("c.log", "  continuation of b\n2024-01-01 00:00:06 c\n");
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!((s.lines, s.records), (2, 2));
    let rows = dir.rows::<&str>(&[]);
    let got: Vec<(u64, &str, &str)> =
        rows.iter().map(|r| (r.line, &r.time[11..19], r.text.as_str())).collect();
    assert_eq!(
        got,
        [
            (1, "00:00:00", "2024-01-01 00:00:00 a"),
            (2, "00:00:05", "2024-01-01 00:00:05 b"),
            (3, "00:00:05", "  continuation of b"),
            (4, "00:00:06", "2024-01-01 00:00:06 c"),
        ]
    );
});

twtest!(append_after_unterminated_last_line, |dir| {
    // syslog.log has no final line terminator, like a log caught mid-write.
    let f = dir.write("f.log", data_bytes(SYSLOG));
    dir.import(&[&f]).0.code(0);
    let (lines, more) = ten_more();
    dir.append("f.log", b"\r\n");
    dir.append("f.log", &more);
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!(s.records, 10, "records added");
    let rows = dir.rows::<&str>(&[]);
    assert_eq!(rows.len(), 2010);
    assert!(rows.iter().all(|r| !r.text.is_empty()), "an empty record was stored");
    let tail: Vec<(u64, &str)> = rows[2000..].iter().map(|r| (r.line, r.text.as_str())).collect();
    let want: Vec<(u64, &str)> =
        lines.iter().enumerate().map(|(i, l)| (2001 + i as u64, l.as_str())).collect();
    assert_eq!(tail, want);
    assert_eq!(dir.cmd("search").run().stdout, fresh_search(&dir, &f));
});

// Segments are immutable, so a line stored while half-written cannot be rewritten: when the
// rest arrives it is stored as a continuation record with the same line number (and the time
// of the record before it). Nothing is lost and nothing is stored twice.
twtest!(line_completed_after_import_continues_it, |dir| {
    let f = dir.write("w.log", "2024-01-01 00:00:00 a\n2024-01-01 00:00:01 half-wri");
    dir.import(&[&f]).0.code(0);
    dir.append("w.log", "tten line\n2024-01-01 00:00:02 b\n");
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!((s.lines, s.records), (1, 2));
    let rows: Vec<(u64, String, String)> =
        dir.rows::<&str>(&[]).into_iter().map(|r| (r.line, r.time, r.text)).collect();
    let t = |s: &str| format!("2024-01-01T00:00:0{s}.000000000Z");
    assert_eq!(
        rows,
        [
            (1, t("0"), "2024-01-01 00:00:00 a".to_string()),
            (2, t("1"), "2024-01-01 00:00:01 half-wri".to_string()),
            (2, t("1"), "tten line".to_string()),
            (3, t("2"), "2024-01-01 00:00:02 b".to_string()),
        ]
    );
});

twtest!(replaced_file_is_imported_again, |dir| {
    let f = dir.write("r.log", data_bytes(SYSLOG));
    dir.import(&[&f]).0.code(0);
    // Different content under the same name (a rotation): read from the start.
    let ssh = data_lines("loghub/OpenSSH/OpenSSH_2k.log");
    let head: String = ssh[..100].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&f, &head).unwrap();
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!((s.lines, s.records, s.unchanged), (100, 100, 0));
    let rows = dir.rows(&["LabSZ"]);
    let got: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.text.as_str())).collect();
    let want: Vec<(u64, &str)> =
        ssh[..100].iter().enumerate().map(|(i, l)| (i as u64 + 1, l.as_str())).collect();
    assert_eq!(got, want);
    // The earlier records stay.
    assert_eq!(dir.search::<&str>(&[]).len(), 2100);
    // A longer replacement with a different head is read whole as well.
    let bigger: String = ssh[..1500].iter().map(|l| format!("{l}\n")).collect();
    let mut other = String::from("Dec 10 06:00:00 LabSZ rotated: new file\n");
    other.push_str(&bigger);
    std::fs::write(&f, other).unwrap();
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!(s.records, 1501);
});

twtest!(reimport_without_filter_after_filtered_import, |dir| {
    let f = crate::util::syslog();
    let (out, s) = dir.import(&["-t".as_ref(), "2005/7/1".as_ref(), f.as_os_str()]);
    out.code(0);
    assert_eq!(s.records, 1396);
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!(s.unchanged, 0);
    assert_eq!(dir.search::<&str>(&[]).len(), 2000);
});

twtest!(reimport_with_larger_max_line, |dir| {
    let f = dir.write(
        "m.log",
        "2024-01-01 00:00:00 short\n2024-01-01 00:00:01 this line is longer than forty bytes\n",
    );
    let (out, s) = dir.import(&["--maxLine".as_ref(), "40".as_ref(), f.as_os_str()]);
    out.code(1);
    assert_eq!(s.records, 1);
    let (out, s) = dir.import(&[&f]);
    out.code(0);
    assert_eq!(s.records, 1, "the skipped line is imported now");
    assert_eq!(dir.search::<&str>(&[]).len(), 2);
});

twtest!(equal_times_keep_file_order_across_imports, |dir| {
    let f = dir.write("e.log", "2024-01-01 00:00:00 a1\n2024-01-01 00:00:00 a2\n");
    dir.import(&[&f]).0.code(0);
    dir.append("e.log", "2024-01-01 00:00:00 b1\n2024-01-01 00:00:00 b2\n");
    dir.import(&[&f]).0.code(0);
    dir.append("e.log", "2024-01-01 00:00:00 c1\n");
    dir.import(&[&f]).0.code(0);
    let rows = dir.rows::<&str>(&[]);
    let got: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, &r.text[20..])).collect();
    assert_eq!(got, [(1, "a1"), (2, "a2"), (3, "b1"), (4, "b2"), (5, "c1")]);
});
