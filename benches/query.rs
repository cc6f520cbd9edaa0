//! Micro-benchmarks of the query hot path on one generated segment: decoding whole blocks
//! (full scans), decoding the single frame a rare token names (selective searches), and
//! looking a token up in the dictionary. Whole-query speed against ripgrep is
//! `tools/bench-query.sh`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twsla::store::segment::{DecodedBlock, Segment};
use twsla::store::{SegmentBuilder, SegmentOptions};

fn segment() -> (Segment, u64) {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut sb = SegmentBuilder::new(SegmentOptions::default());
    let mut bytes = 0u64;
    for i in 0..50_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let line = format!(
            "Oct  1 {:02}:{:02}:{:02} host{} sshd[{}]: Failed password for user{} from 10.{}.{}.{} port {} ssh2{}",
            (i / 3600) % 24,
            (i / 60) % 60,
            i % 60,
            x % 16,
            x % 65536,
            x % 97,
            x % 256,
            (x >> 8) % 256,
            (x >> 16) % 256,
            (x >> 24) % 65536,
            if i % 2000 == 7 { " RAREWORD" } else { "" }
        );
        bytes += line.len() as u64;
        sb.push(i as i64 * 1_000_000_000, 1_000_000_000, 0, i + 1, line.as_bytes());
    }
    let mut out = Vec::new();
    if let Err(e) = sb.write_to(&mut out) {
        panic!("bench segment: {e}");
    }
    match Segment::open(Arc::new(out)) {
        Ok(s) => (s, bytes),
        Err(e) => panic!("bench segment: {e}"),
    }
}

fn bench(c: &mut Criterion) {
    let (seg, bytes) = segment();
    let mut g = c.benchmark_group("query");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("decode_all_blocks", |b| {
        let mut blk = DecodedBlock::default();
        b.iter(|| {
            let mut n = 0usize;
            for i in 0..seg.block_count() {
                if seg.read_block(i, &mut blk).is_ok() {
                    n += blk.text.len();
                }
            }
            black_box(n)
        })
    });
    g.throughput(Throughput::Elements(1));
    let frames = match seg.frames_with_token(b"RAREWORD") {
        Ok(f) => f,
        Err(e) => panic!("bench lookup: {e}"),
    };
    g.bench_function("rare_token_lookup_and_frames", |b| {
        let mut blk = DecodedBlock::default();
        b.iter(|| {
            let mut n = 0usize;
            if let Ok(f) = seg.frames_with_token(b"RAREWORD") {
                for id in &f {
                    let (block, frame) = (id / 4, id % 4);
                    if seg.read_block_frames(block as usize, 1 << frame, &mut blk).is_ok() {
                        n += blk.len();
                    }
                }
            }
            black_box(n)
        })
    });
    g.bench_function("one_frame_of_a_block", |b| {
        let mut blk = DecodedBlock::default();
        let id = frames.min().unwrap_or(0);
        b.iter(|| {
            black_box(seg.read_block_frames((id / 4) as usize, 1 << (id % 4), &mut blk).is_ok())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
