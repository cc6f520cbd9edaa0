use super::*;

const T0: Nanos = 1_700_000_000_000_000_000;
const MIN: Nanos = 60_000_000_000;

fn ts(n: usize) -> ChartSpec {
    ChartSpec::TimeSeries(TimeSeries {
        title: "TWSLA Count:Time".into(),
        y_name: "Count".into(),
        series: vec![Series {
            name: "Count".into(),
            points: (0..n).map(|i| (T0 + i as i64 * MIN, ((i * 7) % 13) as f64)).collect(),
        }],
        utc: true,
    })
}

fn two_series() -> ChartSpec {
    ChartSpec::TimeSeries(TimeSeries {
        title: "two".into(),
        y_name: "v".into(),
        series: vec![
            Series { name: "a".into(), points: vec![(T0, 1.0), (T0 + MIN, 3.0)] },
            Series { name: "b".into(), points: vec![(T0, 2.0), (T0 + 2 * MIN, -1.5)] },
        ],
        utc: true,
    })
}

fn top() -> ChartSpec {
    let items = (0..15).map(|i| (format!("key{i:02}"), 100 - i as u64 * 5));
    ChartSpec::TopN(TopN::of("TWSLA Log count:Key", items, TOP_N))
}

fn heatmap() -> ChartSpec {
    ChartSpec::Heatmap(Heatmap {
        title: "TWSLA Heatmap".into(),
        x_labels: vec!["2024/01/01".into(), "2024/01/02".into(), "2024/01/03".into()],
        y_labels: (0..24).map(|h| h.to_string()).collect(),
        cells: vec![(0, 0, 1), (1, 5, 40), (2, 23, 12), (0, 12, 3)],
    })
}

fn graph() -> ChartSpec {
    ChartSpec::Graph(Graph {
        title: "TWSLA relation graph".into(),
        groups: vec!["ip".into(), "user".into()],
        nodes: vec![
            Node { label: "10.0.0.1".into(), group: 0 },
            Node { label: "10.0.0.2".into(), group: 0 },
            Node { label: "root".into(), group: 1 },
        ],
        edges: vec![Edge { from: 0, to: 2, weight: 5 }, Edge { from: 1, to: 2, weight: 1 }],
    })
}

#[test]
fn top_n_keeps_the_largest_and_sums_the_rest_into_other() {
    let ChartSpec::TopN(t) = top() else { panic!("not a pie") };
    assert_eq!(t.slices.len(), 11);
    assert_eq!(t.slices[0], Slice { label: "key00".into(), value: 100 });
    assert_eq!(t.slices[9].label, "key09");
    // key10..key14: 50+45+40+35+30.
    assert_eq!(t.slices[10], Slice { label: "Other".into(), value: 200 });
    assert_eq!(t.total(), (0..15).map(|i| 100 - i * 5).sum::<u64>());
    let few = TopN::of("t", vec![("b".into(), 1), ("a".into(), 1), ("c".into(), 3)], 10);
    let labels: Vec<&str> = few.slices.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["c", "a", "b"], "no Other when everything fits; ties by label");
}

#[test]
fn heat_scale_ends_and_minimum_range() {
    assert_eq!(heat(0, 100), HEAT[0]);
    assert_eq!(heat(50, 100), HEAT[1]);
    assert_eq!(heat(100, 100), HEAT[2]);
    // The scale goes to at least 10: a max of 2 is not the hottest colour.
    assert_ne!(heat(2, 2), HEAT[2]);
    assert_eq!(heat(1000, 100), HEAT[2]);
}

#[test]
fn ranges_never_have_zero_width() {
    let ChartSpec::TimeSeries(mut t) = ts(1) else { panic!() };
    let (a, b) = time_range(&t);
    assert!(a < T0 && b > T0);
    assert_eq!(value_range(&t), (0.0, 1.0));
    t.series[0].points.clear();
    assert_eq!(time_range(&t), (0, 1));
    assert_eq!(fmt_value(3.0), "3");
    assert_eq!(fmt_value(1.25), "1.25");
    assert_eq!(fmt_value(1.0 / 3.0), "0.333");
}

/// Decodes a PNG: (width, height, RGB pixels).
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<(u8, u8, u8)>) {
    let dec = ::png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut r = dec.read_info().expect("png header");
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.color_type, ::png::ColorType::Rgb);
    let px = buf[..info.buffer_size()].chunks(3).map(|c| (c[0], c[1], c[2])).collect();
    (info.width, info.height, px)
}

fn count_of(px: &[(u8, u8, u8)], c: (u8, u8, u8)) -> usize {
    px.iter().filter(|&&p| p == c).count()
}

/// Dark (text) pixels in rows `y0..y1`.
fn dark_in_rows(px: &[(u8, u8, u8)], w: u32, y0: u32, y1: u32) -> usize {
    px[(y0 * w) as usize..(y1 * w) as usize]
        .iter()
        .filter(|p| u32::from(p.0) + u32::from(p.1) + u32::from(p.2) < 200)
        .count()
}

#[test]
fn png_time_series_draws_title_axes_and_line() {
    let (w, h, px) = decode(&png::render(&ts(30)).expect("png"));
    assert_eq!((w, h), (1000, 500));
    assert!(dark_in_rows(&px, w, 0, 35) > 50, "the title is drawn with the embedded font");
    assert!(count_of(&px, color(0)) > 300, "the line in the first series colour");
    assert!(dark_in_rows(&px, w, 440, 500) > 100, "x tick labels and the axis name");
    // Two series: both colours.
    let (_, _, px) = decode(&png::render(&two_series()).expect("png"));
    assert!(count_of(&px, color(0)) > 50 && count_of(&px, color(1)) > 50);
}

#[test]
fn png_single_point_and_empty_series_do_not_fail() {
    let (_, _, px) = decode(&png::render(&ts(1)).expect("one point"));
    assert!(count_of(&px, color(0)) > 10, "a lone point is drawn as a dot");
    let (w, _, px) = decode(&png::render(&ts(0)).expect("no point"));
    assert!(dark_in_rows(&px, w, 230, 270) > 30, "No data");
}

#[test]
fn png_pie_has_every_slice_colour_and_a_legend() {
    let (w, h, px) = decode(&png::render(&top()).expect("png"));
    assert_eq!((w, h), (900, 520));
    // 11 slices: colours 0..9 and 10 % 10 = 0 again.
    for i in 0..10 {
        assert!(count_of(&px, color(i)) > 200, "slice {i}");
    }
    let legend_dark =
        px.iter().enumerate().filter(|(i, p)| (*i as u32 % w) > 520 && p.0 < 60).count();
    assert!(legend_dark > 200, "legend text");
}

#[test]
fn png_heatmap_colours_cells_by_count() {
    let (_, _, px) = decode(&png::render(&heatmap()).expect("png"));
    assert!(count_of(&px, heat(40, 40)) > 100, "the hottest cell");
    assert!(count_of(&px, heat(1, 40)) > 100, "a cool cell");
    assert!(count_of(&px, (240, 240, 240)) > 10_000, "empty cells");
}

#[test]
fn png_graph_draws_nodes_by_group() {
    let (_, _, px) = decode(&png::render(&graph()).expect("png"));
    assert!(count_of(&px, color(0)) > 100, "ip nodes");
    assert!(count_of(&px, color(1)) > 50, "user node");
    assert!(count_of(&px, (170, 170, 170)) > 100, "edges");
}

#[test]
fn png_of_every_empty_kind_says_no_data() {
    let empty = [
        ChartSpec::TopN(TopN::of("t", Vec::new(), 10)),
        ChartSpec::Heatmap(Heatmap {
            title: "h".into(),
            x_labels: vec![],
            y_labels: vec![],
            cells: vec![],
        }),
        ChartSpec::Graph(Graph { title: "g".into(), groups: vec![], nodes: vec![], edges: vec![] }),
    ];
    for spec in empty {
        assert!(spec.is_empty());
        let (w, h, px) = decode(&png::render(&spec).expect("png"));
        assert!(dark_in_rows(&px, w, h / 2 - 20, h / 2 + 20) > 30, "{spec:?}");
    }
}

/// The JSON data of a page.
fn page_data(page: &str) -> serde_json::Value {
    let start = page.find("id=\"chart-data\">").expect("data") + "id=\"chart-data\">".len();
    let end = start + page[start..].find("</script>").expect("end");
    serde_json::from_str(&page[start..end]).expect("json")
}

/// Self-contained: no URL but the SVG namespace, no external script or stylesheet.
fn assert_offline(page: &str) {
    assert!(!page.contains("https:"), "no https URL");
    assert_eq!(page.matches("http:").count(), 1, "only the SVG namespace");
    assert!(!page.contains("src="), "no external script or image");
    assert!(!page.contains("<link"), "no external stylesheet");
    assert!(page.contains("data-ready"), "the inline script");
}

#[test]
fn html_time_series_is_self_contained_with_data_and_legend() {
    let page = html::render(&two_series());
    assert_offline(&page);
    assert!(
        page.contains("<polyline data-s=\"0\" points=")
            && page.contains("<polyline data-s=\"1\" points=")
    );
    assert_eq!(page.matches("class=\"lg\"").count(), 2, "a legend entry per series");
    // The groups the script redraws on zoom: the time axis and the clipped lines.
    assert_eq!(page.matches("<g id=\"xaxis\">").count(), 1);
    assert_eq!(page.matches("<g id=\"lines\" clip-path=\"url(#clip)\">").count(), 1);
    let d = page_data(&page);
    assert_eq!(d["kind"], "time");
    assert_eq!(d["tz"], serde_json::json!([[T0 as f64, 0]]), "UTC times");
    assert_eq!(d["series"][1]["v"], serde_json::json!([2.0, -1.5]));
    assert!(page.contains(">11/14 22:13<"), "x tick labels as upstream's 01/02 15:04");
}

#[test]
fn html_escapes_titles_labels_and_script_ends() {
    let items = vec![("</script><b>&\"x'".to_string(), 3u64)];
    let page = html::render(&ChartSpec::TopN(TopN::of("a<b>&c", items, 10)));
    assert!(page.contains("<title>a&lt;b&gt;&amp;c</title>"));
    assert!(!page.contains("<b>"));
    assert_eq!(page.matches("</script>").count(), 2, "the label cannot close a script");
    assert_eq!(page_data(&page)["slices"][0]["label"], "</script><b>&\"x'");
}

#[test]
fn html_pie_has_a_slice_and_legend_per_item() {
    let page = html::render(&top());
    assert_offline(&page);
    assert_eq!(page.matches("<path data-s=").count(), 11);
    assert_eq!(page.matches("class=\"lg\"").count(), 11);
    assert!(page.contains("Other(200)"));
    let d = page_data(&page);
    assert_eq!(
        (d["cx"].as_f64(), d["slices"][10]["color"].as_str()),
        (Some(260.0), Some("#cccccc"))
    );
    assert_eq!(page.matches("<g id=\"slices\">").count(), 1, "the group the script redraws");
    assert!(page.contains("data-tip=\"key00\n100 (10.3%)\""));
    // One item: a full circle.
    let one = html::render(&ChartSpec::TopN(TopN::of("t", vec![("a".into(), 4)], 10)));
    assert!(one.contains("<circle data-s=\"0\""));
}

#[test]
fn html_heatmap_has_a_cell_per_count_and_a_scale() {
    let page = html::render(&heatmap());
    assert_offline(&page);
    assert_eq!(page.matches("<rect data-tip=").count(), 4);
    assert!(page.contains("data-tip=\"2024/01/02 5\n40\""));
    assert!(
        page.contains(&format!("fill=\"#{:02x}{:02x}{:02x}\"", HEAT[2].0, HEAT[2].1, HEAT[2].2))
    );
    assert!(page.contains("linearGradient"));
}

#[test]
fn html_graph_has_nodes_edges_and_group_legend() {
    let page = html::render(&graph());
    assert_offline(&page);
    assert_eq!(page.matches("<line data-tip=").count(), 2);
    assert!(page.contains("data-tip=\"10.0.0.1 → root\n5\" data-ends=\"0 1\""));
    assert_eq!(page.matches("<g data-s=\"0\" data-tip").count(), 2);
    assert_eq!(page.matches("<g data-s=\"1\" data-tip").count(), 1);
    assert_eq!(page.matches("class=\"lg\"").count(), 2);
}

#[test]
fn html_empty_charts_say_no_data() {
    assert!(html::render(&ts(0)).contains(">No data</text>"));
}

#[test]
fn nice_ticks_are_round_and_cover_the_range() {
    assert_eq!(nice_ticks(0.0, 97.0, 6), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
    assert_eq!(nice_ticks(-1.5, 3.0, 6), vec![-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]);
    assert_eq!(nice_ticks(0.0, 1.0, 6), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.5, 1.0]);
    let t = nice_ticks(0.0, 1234.0, 6);
    assert!(t[0] <= 0.0 && *t.last().unwrap() >= 1234.0 && t.len() <= 8, "{t:?}");
}

#[test]
fn other_slice_has_its_own_colour() {
    assert_eq!(slice_color(0), color(0));
    assert_eq!(slice_color(TOP_N), OTHER);
    assert!(!PALETTE.contains(&OTHER));
}

#[test]
fn sixel_encodes_bands_colours_and_runs() {
    // One red column of 6 pixels: one band, all six bits.
    assert_eq!(
        sixel::encode(1, 6, &[255, 0, 0].repeat(6)),
        "\x1bP0;1;0q\"1;1;1;6#0;2;100;0;0#0~-\x1b\\"
    );
    // Four white pixels then a red one, one row: runs from 4 on, trailing blanks dropped.
    let mut rgb = [255u8, 255, 255].repeat(4);
    rgb.extend([255, 0, 0]);
    assert_eq!(
        sixel::encode(5, 1, &rgb),
        "\x1bP0;1;0q\"1;1;5;1#0;2;100;100;100#1;2;100;0;0#0!4@$#1!4?@-\x1b\\"
    );
    // Seven rows: two bands; the second has only the first bit.
    let s = sixel::encode(1, 7, &[0, 0, 255].repeat(7));
    assert!(s.ends_with("#0~-#0@-\x1b\\"), "{s:?}");
}

#[test]
fn sixel_keeps_the_256_most_frequent_colours() {
    // 300 colours: 299 once, (7,7,7) twice; the rarest map to their nearest kept colour.
    let mut rgb: Vec<u8> = (0..299u32).flat_map(|i| [(i % 256) as u8, (i / 2) as u8, 7]).collect();
    rgb.extend([7, 7, 7, 7, 7, 7]);
    let s = sixel::encode(301, 1, &rgb);
    assert!(s.contains("#0;2;3;3;3#1;2;0;0;3"), "the most frequent colour first: {:?}", &s[..60]);
    assert!(s.contains("#255;") && !s.contains("#256;"), "256 colours");
}

#[test]
fn sixel_fit_keeps_the_aspect_ratio() {
    let rgb = [9u8, 9, 9].repeat(1000 * 500);
    let (w, h, px) = sixel::fit(1000, 500, &rgb, 300, 300);
    assert_eq!((w, h, px.len()), (300, 150, 300 * 150 * 3));
    assert_eq!(sixel::fit(1000, 500, &rgb, 0, 10).0, 0);
    let s = sixel::render(&ts(20), 500, 240).expect("sixel");
    // The most frequent colour (the white background) is the first.
    assert!(s.starts_with("\x1bP0;1;0q\"1;1;480;240#0;2;100;100;100#"), "{:?}", &s[..50]);
    assert!(s.ends_with("-\x1b\\"));
}

#[test]
fn decimate_keeps_first_last_and_extremes_per_bucket() {
    let pts: Vec<(Nanos, f64)> =
        (0..10_000).map(|i| (i as i64 * 10, ((i * 37) % 101) as f64)).collect();
    let d = decimate(&pts, 0, 99_990, 100);
    assert!(d.len() <= 400 && d.len() >= 200, "{}", d.len());
    assert!(d.windows(2).all(|w| w[0].0 < w[1].0), "time order, no duplicates");
    assert_eq!((d[0], d[d.len() - 1]), (pts[0], pts[9_999]));
    // Every bucket of 100 points keeps its extremes (0 and 100 occur in each).
    for b in 0..100 {
        let inb: Vec<f64> = d.iter().filter(|p| p.0 / 1000 == b).map(|p| p.1).collect();
        let src: Vec<f64> = pts.iter().filter(|p| p.0 / 1000 == b).map(|p| p.1).collect();
        let max = |v: &[f64]| v.iter().copied().fold(f64::MIN, f64::max);
        let min = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
        assert_eq!((min(&inb), max(&inb)), (min(&src), max(&src)), "bucket {b}");
    }
    // Small inputs come back as they are, less non-finite values.
    let few = vec![(1, 1.0), (2, f64::NAN), (3, 2.0)];
    assert_eq!(decimate(&few, 0, 3, 10), vec![(1, 1.0), (3, 2.0)]);
}

#[test]
fn html_draws_a_decimated_line_but_keeps_every_point() {
    let n = 50_000;
    let spec = ChartSpec::TimeSeries(TimeSeries {
        title: "big".into(),
        y_name: "v".into(),
        series: vec![Series {
            name: "v".into(),
            points: (0..n).map(|i| (T0 + i as i64 * 1_000_000, (i % 97) as f64)).collect(),
        }],
        utc: false,
    });
    let page = html::render(&spec);
    let at = page.find("<polyline data-s=\"0\" points=\"").expect("line") + 30;
    let drawn = page[at..at + page[at..].find('"').expect("end")].split_whitespace().count();
    assert!(drawn <= 4 * 880 && drawn > 880, "{drawn} points drawn");
    let d = page_data(&page);
    assert_eq!(d["series"][0]["t"].as_array().map(Vec::len), Some(n));
    assert!(d["tz"][0][0].as_f64() == Some(T0 as f64) && d["tz"][0][1].is_i64(), "{}", d["tz"]);
}
