//! `count`/`extract` with `-e grok` and `--ip host|domain|loc|country` (spec §6.14, §6.15):
//! GeoIP against MaxMind's test databases, reverse DNS against a fake resolver on loopback.

use std::collections::BTreeMap;
use std::net::UdpSocket;

use crate::util::{TestDir, data, twtest};

fn key_rows(out: &crate::util::Out) -> Vec<(String, u64)> {
    out.lines()
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["key"].as_str().unwrap().to_string(), v["count"].as_u64().unwrap())
        })
        .collect()
}

const WEBLOG: &str = "weblogs/elastic-apache/apache_logs.log";

twtest!(grok_combined_apache_clientip, |dir| {
    dir.import(&[data(WEBLOG)]).0.code(0);
    let out = dir
        .cmd("count")
        .args(&["--ndjson", "-e", "grok", "-x", "%{COMBINEDAPACHELOG}", "-n", "clientip"])
        .run();
    out.code(0);
    // Independent: the first field of every well-formed line (one line of the corpus has an
    // unterminated user-agent quote, so it is not in combined format and has no clientip).
    let text = std::fs::read_to_string(data(WEBLOG)).unwrap();
    let good: Vec<&str> =
        text.lines().filter(|l| l.matches('"').count() == 6 && l.ends_with('"')).collect();
    assert_eq!(good.len(), 9999);
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for l in &good {
        *want.entry(l.split(' ').next().unwrap().to_string()).or_default() += 1;
    }
    let mut want: Vec<(String, u64)> = want.into_iter().collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let got = key_rows(&out);
    assert_eq!(got.iter().map(|r| r.1).sum::<u64>(), good.len() as u64);
    assert_eq!(got, want);
    // A bare pattern name is wrapped: -x IP captures IP.
    let out = dir.cmd("count").args(&["--ndjson", "-e", "grok", "-x", "IP"]).run();
    out.code(0);
    assert_eq!(key_rows(&out)[0], want[0]);
    // Errors: no pattern, unknown pattern, no capture name for a composite pattern.
    for args in [
        &["-e", "grok"][..],
        &["-e", "grok", "-x", "%{NO_SUCH_PATTERN}", "-n", "x"],
        &["-e", "grok", "-x", "%{COMBINEDAPACHELOG}"],
    ] {
        let out = dir.cmd("count").args(args).run();
        out.code(2);
        assert!(out.stderr.contains("grok"), "{args:?}: {out:?}");
    }
});

twtest!(grok_definitions_file, |dir| {
    let f = dir.write("g.log", "2024-01-01 00:00:01 user=alice took=5ms\n2024-01-01 00:00:02 user=bob took=7ms\n2024-01-01 00:00:03 user=alice took=9ms\n");
    dir.import(&[&f]).0.code(0);
    let defs = dir.write("defs.txt", "MYUSER [a-z]+\nTOOK %{NUMBER:ms}ms\n");
    let out = dir
        .cmd("count")
        .arg("--ndjson")
        .args(&["-e", "grok", "-x", "user=%{MYUSER:u}", "-n", "u", "-g"])
        .arg(&defs)
        .run();
    out.code(0);
    assert_eq!(key_rows(&out), [("alice".to_string(), 2), ("bob".to_string(), 1)]);
    let out = dir
        .cmd("extract")
        .arg("--ndjson")
        .args(&["-e", "grok", "-x", "%{TOOK}", "-n", "ms", "-g"])
        .arg(&defs)
        .run();
    out.code(0);
    let vals: Vec<String> = out
        .lines()
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["value"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(vals, ["5", "7", "9"]);
});

fn ip_file(dir: &TestDir) -> std::path::PathBuf {
    // The GeoIP expectations of data/README.md, plus a private address.
    let ips = [
        ("81.2.69.142", 3),
        ("2.125.160.216", 1),
        ("216.160.83.56", 2),
        ("89.160.20.112", 1),
        ("175.16.199.0", 1),
        ("10.1.2.3", 2),
    ];
    let mut text = String::new();
    let mut s = 0;
    for (ip, n) in ips {
        for _ in 0..n {
            s += 1;
            text.push_str(&format!("2024-01-01 00:00:{s:02} conn from {ip} ok\n"));
        }
    }
    dir.write("ips.log", text)
}

twtest!(geoip_country_and_location, |dir| {
    let f = ip_file(&dir);
    dir.import(&[&f]).0.code(0);
    let db = data("geoip/GeoIP2-City-Test.mmdb");
    let out = dir
        .cmd("count")
        .arg("--ndjson")
        .args(&["-e", "ip", "--ip", "country", "--geoip"])
        .arg(&db)
        .run();
    out.code(0);
    let got: BTreeMap<String, u64> = key_rows(&out).into_iter().collect();
    let want: BTreeMap<String, u64> = [("GB", 4), ("US", 2), ("SE", 1), ("CN", 1), ("unknown", 2)]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(got, want);
    let out = dir
        .cmd("count")
        .arg("--ndjson")
        .args(&["-e", "ip", "--ip", "loc", "--geoip"])
        .arg(&db)
        .run();
    out.code(0);
    let rows = key_rows(&out);
    assert!(rows.iter().any(|(k, n)| k.starts_with("GB:London:") && *n == 3), "{rows:?}");
    assert!(rows.iter().any(|(k, n)| k.starts_with("GB:Boxford:") && *n == 1), "{rows:?}");
    assert!(rows.iter().any(|(k, n)| k.starts_with("SE:Linköping:") && *n == 1), "{rows:?}");
    // extract turns the value the same way.
    let out = dir
        .cmd("extract")
        .arg("--ndjson")
        .args(&["-e", "ip", "--ip", "country", "--geoip"])
        .arg(&db)
        .run();
    out.code(0);
    assert_eq!(out.lines().len(), 10);
    assert!(out.lines()[0].contains("\"value\":\"GB\""), "{out:?}");
    // loc/country without a database, or with a broken one, are errors.
    let out = dir.cmd("count").args(&["-e", "ip", "--ip", "country"]).run();
    out.code(2);
    assert!(out.stderr.contains("--geoip"), "{out:?}");
    let bad = dir.write("bad.mmdb", "not a database");
    let out = dir.cmd("count").args(&["-e", "ip", "--ip", "loc", "--geoip"]).arg(&bad).run();
    out.code(2);
    assert!(out.stderr.contains("bad.mmdb"), "{out:?}");
});

/// A resolver on loopback answering every PTR query `d.c.b.a.in-addr.arpa` with
/// `host-a-b-c-d.example.net`, except for 10.x addresses (NXDOMAIN).
fn fake_resolver() -> String {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let q = &buf[..n];
            // Question name labels.
            let mut labels = Vec::new();
            let mut p = 12;
            while q[p] != 0 {
                let l = q[p] as usize;
                labels.push(String::from_utf8_lossy(&q[p + 1..p + 1 + l]).into_owned());
                p += 1 + l;
            }
            let octets: Vec<&str> = labels[..4].iter().rev().map(String::as_str).collect();
            let mut r = q.to_vec();
            r[2] = 0x81;
            if octets[0] == "10" {
                r[3] = 0x83;
            } else {
                r[3] = 0x80;
                r[7] = 1;
                r.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 60]);
                let name = format!("host-{}.example.net", octets.join("-"));
                let mut rd = Vec::new();
                for l in name.split('.') {
                    rd.push(l.len() as u8);
                    rd.extend_from_slice(l.as_bytes());
                }
                rd.push(0);
                r.extend_from_slice(&(rd.len() as u16).to_be_bytes());
                r.extend_from_slice(&rd);
            }
            let _ = sock.send_to(&r, from);
        }
    });
    addr.to_string()
}

twtest!(reverse_dns_host_and_domain, |dir| {
    let f = ip_file(&dir);
    dir.import(&[&f]).0.code(0);
    let dns = fake_resolver();
    let out = dir
        .cmd("count")
        .env("TWSLA_DNS", &dns)
        .args(&["--ndjson", "-e", "ip", "--ip", "host"])
        .run();
    out.code(0);
    let got: BTreeMap<String, u64> = key_rows(&out).into_iter().collect();
    assert_eq!(got.get("host-81-2-69-142.example.net"), Some(&3), "{got:?}");
    assert_eq!(got.get("10.1.2.3(unknown)"), Some(&2), "{got:?}");
    let out = dir
        .cmd("count")
        .env("TWSLA_DNS", &dns)
        .args(&["--ndjson", "-e", "ip", "--ip", "domain"])
        .run();
    out.code(0);
    let got: BTreeMap<String, u64> = key_rows(&out).into_iter().collect();
    assert_eq!(got.get("example.net"), Some(&8), "{got:?}");
    assert_eq!(got.get("10.1.2.3(unknown)"), Some(&2), "{got:?}");
});

twtest!(unreachable_resolver_is_quick, |dir| {
    let f = ip_file(&dir);
    dir.import(&[&f]).0.code(0);
    // A port nobody listens on: every query fails fast, and all names are unknown.
    let closed = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let t0 = std::time::Instant::now();
    let out = dir
        .cmd("count")
        .env("TWSLA_DNS", &closed)
        .args(&["--ndjson", "-e", "ip", "--ip", "host"])
        .run();
    out.code(0);
    assert!(key_rows(&out).iter().all(|(k, _)| k.ends_with("(unknown)")), "{out:?}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
});
