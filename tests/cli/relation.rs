//! `relation` (spec §6.9, §10.1, §10.2): value tuples of two or more items with counts, the
//! graph rows (nodes and edges), item words and their fixed parsing, filters and golden NDJSON.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::util::{TestDir, data, data_lines, go_regex, spec_keyword, syslog, twtest};

/// One `relation --ndjson` object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum Obj {
    Tuple { values: Vec<String>, count: u64 },
    Node { id: usize, column: usize, item: String, value: String, count: u64 },
    Edge { source: usize, target: usize, count: u64 },
}

#[derive(Debug, Default)]
struct Out {
    tuples: Vec<(Vec<String>, u64)>,
    nodes: Vec<(usize, usize, String, String, u64)>,
    edges: Vec<(usize, usize, u64)>,
}

fn run(dir: &TestDir, args: &[&str]) -> (i32, Out) {
    let out = dir.cmd("relation").arg("--ndjson").args(args).run();
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    let mut o = Out::default();
    let mut stage = 0;
    for l in out.lines() {
        match serde_json::from_str::<Obj>(&l).unwrap_or_else(|e| panic!("bad object {e}: {l}")) {
            Obj::Tuple { values, count } => {
                assert_eq!(stage, 0, "tuples come first");
                o.tuples.push((values, count));
            }
            Obj::Node { id, column, item, value, count } => {
                assert!(stage <= 1, "nodes before edges");
                stage = 1;
                o.nodes.push((id, column, item, value, count));
            }
            Obj::Edge { source, target, count } => {
                stage = 2;
                o.edges.push((source, target, count));
            }
        }
    }
    (out.code, o)
}

/// Expected tuples: for each line with every regex matching at its index, the whole
/// matches; sorted by count descending, then values.
fn expected(lines: &[String], items: &[(&str, usize)]) -> Vec<(Vec<String>, u64)> {
    let res: Vec<(regex_automata::meta::Regex, usize)> =
        items.iter().map(|(p, i)| (go_regex(p), *i)).collect();
    let mut m: HashMap<Vec<String>, u64> = HashMap::new();
    for l in lines {
        let vals: Option<Vec<String>> = res
            .iter()
            .map(|(re, i)| re.find_iter(l.as_bytes()).nth(*i).map(|x| l[x.range()].to_string()))
            .collect();
        if let Some(v) = vals {
            *m.entry(v).or_default() += 1;
        }
    }
    let mut v: Vec<(Vec<String>, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// A graph node as (column, value).
type NodeKey = (usize, String);

/// The graph implied by tuples: node counts per (column, value), edge counts between
/// adjacent columns.
fn check_graph(o: &Out, names: &[&str]) {
    let mut nodes: BTreeMap<NodeKey, u64> = BTreeMap::new();
    let mut edges: BTreeMap<(NodeKey, NodeKey), u64> = BTreeMap::new();
    for (vals, n) in &o.tuples {
        for (c, v) in vals.iter().enumerate() {
            *nodes.entry((c, v.clone())).or_default() += n;
        }
        for c in 0..vals.len() - 1 {
            *edges.entry(((c, vals[c].clone()), (c + 1, vals[c + 1].clone()))).or_default() += n;
        }
    }
    let got_nodes: BTreeMap<NodeKey, u64> =
        o.nodes.iter().map(|n| ((n.1, n.3.clone()), n.4)).collect();
    assert_eq!(got_nodes, nodes);
    for (i, n) in o.nodes.iter().enumerate() {
        assert_eq!(n.0, i, "ids are positions");
        assert_eq!(n.2, names[n.1], "item name of column {}", n.1);
    }
    let key = |id: usize| (o.nodes[id].1, o.nodes[id].3.clone());
    let got_edges: BTreeMap<(NodeKey, NodeKey), u64> =
        o.edges.iter().map(|e| ((key(e.0), key(e.1)), e.2)).collect();
    assert_eq!(got_edges, edges);
}

/// Spec §10.2: `relation ip 'regex/user=(\w+)/red'` gives 22 pairs over 270 records; top
/// 150.183.249.110/user=root 80, 207.243.167.114/user=root 23, 60.30.224.116/user=root 20.
#[test]
fn syslog_relation_spec_vector() {
    let dir = TestDir::new("relation");
    dir.import(&[syslog()]).0.code(0);
    let lines = data_lines("twsla-testlog/syslog.log");
    let args = ["ip", r"regex/user=(\w+)/red"];
    let (code, o) = run(&dir, &args);
    assert_eq!(code, 0);
    let want = expected(&lines, &[(spec_keyword("ip"), 0), (r"user=(\w+)", 0)]);
    assert_eq!(o.tuples, want);
    assert_eq!(o.tuples.len(), 22);
    assert_eq!(o.tuples.iter().map(|t| t.1).sum::<u64>(), 270);
    let top: Vec<(&str, &str, u64)> =
        o.tuples[..3].iter().map(|t| (t.0[0].as_str(), t.0[1].as_str(), t.1)).collect();
    assert_eq!(
        top,
        [
            ("150.183.249.110", "user=root", 80),
            ("207.243.167.114", "user=root", 23),
            ("60.30.224.116", "user=root", 20)
        ]
    );
    check_graph(&o, &args);
    // Plain output: values and count, tab-separated.
    let out = dir.cmd("relation").args(&args).run();
    out.code(0);
    assert_eq!(out.lines()[0], "150.183.249.110\tuser=root\t80");
    assert_eq!(out.lines().len(), 22);
}

#[test]
fn item_words_and_indexes() {
    let dir = TestDir::new("relation-items");
    let f = dir.write(
        "a.log",
        "2024-01-01T00:00:01Z ipsec from 10.0.0.1 to 10.0.0.2 mac 00:11:22:33:44:55 a=1 b=2\n\
         2024-01-01T00:00:02Z ipsec from 10.0.0.1 to 10.0.0.3 mail x@example.com a=1 c=3\n\
         2024-01-01T00:00:03Z plain from 10.0.0.9 to 10.0.0.2 see https://example.com/x?y=1 k=v\n\
         2024-01-01T00:00:04Z plain from 10.0.0.9 only\n",
    );
    dir.import(&[&f]).0.code(0);
    let lines = data_lines_of(&f);
    let ip = spec_keyword("ip");
    let kv = r"\w+=\w+[ ,]?";
    for (args, items) in [
        (&["ip", "ip:1"][..], vec![(ip, 0), (ip, 1)]),
        // `ipsec` is a filter word, not an IP item (upstream took every word starting with ip).
        (&["ip", "ip:1", "ipsec"], vec![(ip, 0), (ip, 1), (r"ipsec", 0)]),
        (&["ip:1", "kv", "kv:1"], vec![(ip, 1), (kv, 0), (kv, 1)]),
        (&["ip", "mac"], vec![(ip, 0), (spec_keyword("mac"), 0)]),
        (&["email", "ip"], vec![(spec_keyword("email"), 0), (ip, 0)]),
        (&["url", "ip:1"], vec![(spec_keyword("url"), 0), (ip, 1)]),
        // A ':' inside the pattern is part of it; `:N` goes after the closing slash.
        (
            &["regexp/to [0-9.:]+/", "regex/[a-z]=[0-9]/blue:1"],
            vec![(r"to [0-9.:]+", 0), (r"[a-z]=[0-9]", 1)],
        ),
    ] {
        let (code, o) = run(&dir, args);
        let mut want = expected(&lines, &items);
        if args.contains(&"ipsec") {
            // The filter word is not a column: drop the third value, merge.
            let mut m: HashMap<Vec<String>, u64> = HashMap::new();
            for (mut v, n) in want {
                v.truncate(2);
                *m.entry(v).or_default() += n;
            }
            want = m.into_iter().collect();
            want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
        assert_eq!(o.tuples, want, "{args:?}");
        assert_eq!(code, if want.is_empty() { 1 } else { 0 }, "{args:?}");
        let names: Vec<&str> = args.iter().copied().filter(|a| *a != "ipsec").collect();
        check_graph(&o, &names);
    }
    let (_, o) = run(&dir, &["ip", "ip:1", "ipsec"]);
    assert_eq!(o.tuples.iter().map(|t| t.1).sum::<u64>(), 2);
}

fn data_lines_of(p: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(p).unwrap().lines().map(str::to_string).collect()
}

twtest!(bad_items, |dir| {
    let f = dir.write("a.log", "2024-01-01T00:00:01Z from 10.0.0.1 x\n");
    dir.import(&[&f]).0.code(0);
    for (args, needle) in [
        (&["ip"][..], "two or more items"),
        (&["ipsec", "kernel"], "two or more items"),
        (&["ip", "ip:x"], "ip:x"),
        (&["ip", "regex/abc"], "regex/abc"),
        (&["ip", "regex/(/"], "regex/(/"),
        (&["ip", "regex//"], "regex//"),
        (&["ip", "kv", "-r", "("], "\"(\""),
    ] {
        let out = dir.cmd("relation").args(args).run();
        out.code(2);
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("twsla: error: "), "{args:?}: {out:?}");
        assert!(out.stderr.contains(needle), "{args:?}: {out:?}");
    }
    let out = dir.cmd("relation").run();
    out.code(2);
});

#[test]
fn loghub_relation_ndjson_snapshot() {
    let dir = TestDir::new("relation-openssh");
    let rel = "loghub/OpenSSH/OpenSSH_2k.log";
    dir.import(&[data(rel)]).0.code(0);
    let args = [r"regex/for (invalid user )?\S+ from/", "ip", "Failed password"];
    let (code, o) = run(&dir, &args);
    assert_eq!(code, 0);
    let lines: Vec<String> =
        data_lines(rel).into_iter().filter(|l| l.contains("Failed password")).collect();
    let want = expected(&lines, &[(r"for (invalid user )?\S+ from", 0), (spec_keyword("ip"), 0)]);
    assert_eq!(o.tuples, want);
    check_graph(&o, &args[..2]);
    let out = dir.cmd("relation").arg("--ndjson").args(&args).run();
    insta::assert_snapshot!("openssh_relation_ndjson", out.text());
}

twtest!(non_utf8_values_are_kept, |dir| {
    let f = dir.write(
        "a.log",
        &b"2024-01-01T00:00:01Z from 10.0.0.1 u=\xff\xfeX\n2024-01-01T00:00:02Z from 10.0.0.1 u=ok\n"[..],
    );
    dir.import(&[&f]).0.code(0);
    let out = dir.cmd("relation").args(&["--ndjson", "ip", r"regex/u=\S+/"]).run();
    out.code(0);
    let objs: Vec<serde_json::Value> =
        out.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let tuples: Vec<&serde_json::Value> = objs.iter().filter(|o| o["kind"] == "tuple").collect();
    assert_eq!(tuples.len(), 2);
    let bad = tuples.iter().find(|t| t.get("values_b64").is_some()).unwrap();
    // "u=\xff\xfeX" in base64; the text field carries U+FFFD replacements.
    assert_eq!(bad["values_b64"][1], "dT3//lg=");
    assert_eq!(bad["values"][1], "u=\u{fffd}\u{fffd}X");
    let ok = tuples.iter().find(|t| t.get("values_b64").is_none()).unwrap();
    assert_eq!(ok["values"][1], "u=ok");
    let node = objs.iter().find(|o| o["kind"] == "node" && o.get("value_b64").is_some()).unwrap();
    assert_eq!(node["value_b64"], "dT3//lg=");
});
