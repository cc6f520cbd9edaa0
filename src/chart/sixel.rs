//! A small sixel encoder: the PNG renderer's RGB buffer, scaled to fit a terminal area, as one
//! DCS sequence (`ESC P q ... ESC \`) that sixel terminals (xterm -ti vt340, foot, WezTerm,
//! mlterm, ...) draw at the cursor.
//!
//! Colours: the image's 256 most frequent colours (charts are mostly flat colours plus
//! anti-aliased text), the others drawn in the nearest of them. Memory: one palette index per
//! pixel and a table of the distinct colours.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::Result;

use super::ChartSpec;

/// Scales an RGB image to fit in `max_w`×`max_h` (aspect kept, nearest neighbour).
pub fn fit(w: u32, h: u32, rgb: &[u8], max_w: u32, max_h: u32) -> (u32, u32, Vec<u8>) {
    if w == 0 || h == 0 || max_w == 0 || max_h == 0 {
        return (0, 0, Vec::new());
    }
    let s = (f64::from(max_w) / f64::from(w)).min(f64::from(max_h) / f64::from(h));
    let tw = ((f64::from(w) * s).floor() as u32).clamp(1, max_w);
    let th = ((f64::from(h) * s).floor() as u32).clamp(1, max_h);
    let mut out = Vec::with_capacity((tw * th * 3) as usize);
    for y in 0..th {
        let sy = (u64::from(y) * u64::from(h) / u64::from(th)) as usize;
        for x in 0..tw {
            let sx = (u64::from(x) * u64::from(w) / u64::from(tw)) as usize;
            let i = (sy * w as usize + sx) * 3;
            out.extend_from_slice(rgb.get(i..i + 3).unwrap_or(&[255, 255, 255]));
        }
    }
    (tw, th, out)
}

/// The palette (the 256 most frequent colours) and each pixel's index into it (the nearest
/// palette colour for the others).
fn quantize(rgb: &[u8]) -> (Vec<[u8; 3]>, Vec<u8>) {
    let mut freq: HashMap<[u8; 3], usize> = HashMap::new();
    for p in rgb.chunks_exact(3) {
        *freq.entry([p[0], p[1], p[2]]).or_default() += 1;
    }
    let mut by_freq: Vec<([u8; 3], usize)> = freq.into_iter().collect();
    // Most frequent first; ties by colour, so the output is deterministic.
    by_freq.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let palette: Vec<[u8; 3]> = by_freq.iter().take(256).map(|x| x.0).collect();
    let dist = |a: [u8; 3], b: [u8; 3]| {
        (0..3).map(|k| (i32::from(a[k]) - i32::from(b[k])).pow(2)).sum::<i32>()
    };
    let mut index: HashMap<[u8; 3], u8> = HashMap::new();
    for (c, _) in &by_freq {
        let best = (0..palette.len()).min_by_key(|&i| dist(*c, palette[i])).unwrap_or(0);
        index.insert(*c, best as u8);
    }
    let idx =
        rgb.chunks_exact(3).map(|p| index.get(&[p[0], p[1], p[2]]).copied().unwrap_or(0)).collect();
    (palette, idx)
}

/// Appends `n` copies of sixel character `ch` (run-length coded from 4 on).
fn run(out: &mut String, ch: u8, n: usize) {
    if n >= 4 {
        let _ = write!(out, "!{n}{}", ch as char);
    } else {
        for _ in 0..n {
            out.push(ch as char);
        }
    }
}

/// Encodes a `w`×`h` RGB image as a sixel sequence.
pub fn encode(w: u32, h: u32, rgb: &[u8]) -> String {
    let (w, h) = (w as usize, h as usize);
    let rgb = &rgb[..(w * h * 3).min(rgb.len())];
    let (palette, idx) = quantize(rgb);
    let mut out = String::new();
    // P2=1: pixels not drawn keep the terminal's background; raster attributes: 1:1, w×h.
    let _ = write!(out, "\x1bP0;1;0q\"1;1;{w};{h}");
    for (i, c) in palette.iter().enumerate() {
        let pct = |v: u8| (u16::from(v) * 100 + 127) / 255;
        let _ = write!(out, "#{i};2;{};{};{}", pct(c[0]), pct(c[1]), pct(c[2]));
    }
    let mut used = vec![false; palette.len()];
    for top in (0..h).step_by(6) {
        let rows = (h - top).min(6);
        used.iter_mut().for_each(|u| *u = false);
        for r in 0..rows {
            for x in 0..w {
                if let Some(&i) = idx.get((top + r) * w + x) {
                    used[usize::from(i)] = true;
                }
            }
        }
        let mut first = true;
        for (c, _) in used.iter().enumerate().filter(|(_, u)| **u) {
            if !first {
                out.push('$');
            }
            first = false;
            let _ = write!(out, "#{c}");
            let (mut prev, mut n) = (0u8, 0usize);
            let mut pending_blank = 0usize;
            for x in 0..w {
                let mut bits = 0u8;
                for r in 0..rows {
                    if idx.get((top + r) * w + x).is_some_and(|&i| usize::from(i) == c) {
                        bits |= 1 << r;
                    }
                }
                let ch = 63 + bits;
                if n > 0 && ch == prev {
                    n += 1;
                    continue;
                }
                if n > 0 {
                    if prev == 63 {
                        pending_blank += n;
                    } else {
                        run(&mut out, 63, std::mem::take(&mut pending_blank));
                        run(&mut out, prev, n);
                    }
                }
                (prev, n) = (ch, 1);
            }
            // Trailing blanks are dropped.
            if n > 0 && prev != 63 {
                run(&mut out, 63, pending_blank);
                run(&mut out, prev, n);
            }
        }
        out.push('-');
    }
    out.push_str("\x1b\\");
    out
}

/// The chart as a sixel image of at most `max_w`×`max_h` pixels (its PNG rendering, scaled).
pub fn render(spec: &ChartSpec, max_w: u32, max_h: u32) -> Result<String> {
    let (w, h, rgb) = super::png::rgb_buffer(spec)?;
    let (tw, th, scaled) = fit(w, h, &rgb, max_w, max_h);
    Ok(encode(tw, th, &scaled))
}
