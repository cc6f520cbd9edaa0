//! Micro-benchmarks of the import hot path: timestamp inference, tokenization, and building a
//! segment (sort + index + compress). Inputs are generated here (deterministic), so the
//! benches run anywhere. Whole-import throughput against wc/zcat/rg is `tools/bench-import.sh`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twsla::ingest::timestamp::{TimestampParser, TsOptions};
use twsla::store::tokenizer;
use twsla::store::{SegmentBuilder, SegmentOptions};

fn lines() -> Vec<String> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..20_000)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let s = i % 60;
            format!(
                "Oct  {} {:02}:{:02}:{:02} host{} sshd[{}]: Failed password for user{} from 10.{}.{}.{} port {} ssh2",
                1 + i / 5000,
                (i / 3600) % 24,
                (i / 60) % 60,
                s,
                x % 16,
                x % 65536,
                x % 97,
                x % 256,
                (x >> 8) % 256,
                (x >> 16) % 256,
                (x >> 24) % 65536
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let lines = lines();
    let bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("timestamp_syslog", |b| {
        b.iter(|| {
            let mut p = TimestampParser::new(TsOptions {
                utc: true,
                reference_ns: Some(1_790_000_000_000_000_000),
            });
            for l in &lines {
                black_box(p.parse(l.as_bytes()));
            }
        })
    });
    g.bench_function("tokenize", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for l in &lines {
                tokenizer::for_each_token(l.as_bytes(), |t| n += t.len());
            }
            black_box(n)
        })
    });
    g.sample_size(10);
    g.bench_function("segment_build", |b| {
        b.iter(|| {
            let mut sb = SegmentBuilder::new(SegmentOptions::default());
            for (i, l) in lines.iter().enumerate() {
                sb.push(i as i64 * 1_000_000_000, 1_000_000_000, 0, i as u64 + 1, l.as_bytes());
            }
            let mut out = Vec::new();
            black_box(sb.write_to(&mut out).map(|s| s.file_bytes))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
