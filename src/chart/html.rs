//! Self-contained HTML charts: one page with the chart as inline SVG (it shows without
//! scripts) and a small inline script of our own for interaction: a tooltip with the values
//! under the pointer (the nearest time of each line; a slice, cell, node or edge), and a
//! legend whose entries hide and show their series, slices or node groups. Nothing is
//! loaded from the network.

use std::fmt::Write as _;

use serde_json::json;

use super::{ChartSpec, Graph, Heatmap, TimeSeries, TopN};

/// Escapes text for HTML/SVG content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

fn hex(c: (u8, u8, u8)) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

const STYLE: &str = r#"body{font-family:sans-serif;margin:16px;background:#fff;color:#222}
svg{max-width:100%;height:auto;border:1px solid #ddd}
svg text{font-family:sans-serif}
.lg{cursor:pointer}.lg.off{opacity:.35}.off-el{display:none}
#tip{position:fixed;display:none;pointer-events:none;background:rgba(40,40,40,.92);color:#fff;
padding:6px 8px;border-radius:4px;font-size:13px;white-space:pre;z-index:9}
[data-tip]:hover{opacity:.8}"#;

/// The script: tooltips from `data-tip`, the nearest point of each time series, legend
/// toggling (`#hide=I,J` in the URL hides entries at load; a pie is redrawn over the shown
/// slices, a graph hides the edges of hidden groups), and on time series zooming (drag across the plot; double-click resets; or
/// `#zoom=T0,T1` in the URL, times in ns) which redraws the lines and the time axis; it sets
/// `data-ready` on the body when it ran (and `data-zoom` when zoomed; both checked by the
/// headless browser test).
const SCRIPT: &str = r##"(function(){
var svg=document.getElementById('chart'),tip=document.getElementById('tip');
var data=JSON.parse(document.getElementById('chart-data').textContent);
function show(e,t){tip.textContent=t;tip.style.display='block';
tip.style.left=(e.clientX+14)+'px';tip.style.top=(e.clientY+14)+'px';}
function hide(){tip.style.display='none';}
function esc(s){return String(s).replace(/&/g,'&amp;').replace(/</g,'&lt;').replace(/"/g,'&quot;');}
data.hidden={};
if(data.kind!=='time'){svg.addEventListener('mousemove',function(e){
var el=e.target.closest?e.target.closest('[data-tip]'):null;if(el)show(e,el.getAttribute('data-tip'));else hide();});
svg.addEventListener('mouseleave',hide);}
function pie(){var tot=0,h='',a=0,c=data.cx,d=data.cy,r=data.r;
data.slices.forEach(function(s,i){if(!data.hidden[i])tot+=s.value;});
data.slices.forEach(function(s,i){if(data.hidden[i]||!s.value)return;var sp=2*Math.PI*s.value/tot,
t=' data-s="'+i+'" data-tip="'+esc(s.label+'\n'+s.value+' ('+(100*s.value/tot).toFixed(1)+'%)')+'" fill="'+s.color+'"';
if(s.value===tot)h+='<circle'+t+' cx="'+c+'" cy="'+d+'" r="'+r+'"/>';
else h+='<path'+t+' stroke="#fff" stroke-width="1" d="M'+c+','+d+' L'+(c+r*Math.sin(a)).toFixed(2)+','+(d-r*Math.cos(a)).toFixed(2)+
' A'+r+','+r+' 0 '+(sp>Math.PI?1:0)+' 1 '+(c+r*Math.sin(a+sp)).toFixed(2)+','+(d-r*Math.cos(a+sp)).toFixed(2)+' Z"/>';a+=sp;});
document.getElementById('slices').innerHTML=h;}
function edges(){svg.querySelectorAll('[data-ends]').forEach(function(el){var g=el.getAttribute('data-ends').split(' ');
el.classList.toggle('off-el',!!(data.hidden[g[0]]||data.hidden[g[1]]));});}
svg.querySelectorAll('.lg').forEach(function(l){l.addEventListener('click',function(){
var s=l.getAttribute('data-s'),off=!l.classList.contains('off');l.classList.toggle('off',off);
svg.querySelectorAll('[data-s="'+s+'"]:not(.lg)').forEach(function(el){el.classList.toggle('off-el',off);});
data.hidden[s]=off;if(data.kind==='pie')pie();if(data.kind==='graph')edges();});});
var hm=/hide=([0-9,]+)/.exec(location.hash);if(hm)hm[1].split(',').forEach(function(s){
var l=svg.querySelector('.lg[data-s="'+s+'"]');if(l)l.dispatchEvent(new MouseEvent('click'));});
if(data.kind==='time'){
var p=data.plot,guide=document.getElementById('guide'),marks=document.getElementById('marks');
function near(a,x){var lo=0,hi=a.length-1;if(hi<0)return -1;while(lo<hi){var m=(lo+hi)>>1;
if(a[m]<x)lo=m+1;else hi=m;}if(lo>0&&x-a[lo-1]<a[lo]-x)lo--;return lo;}
svg.addEventListener('mousemove',function(e){var pt=svg.createSVGPoint();pt.x=e.clientX;pt.y=e.clientY;
var q=pt.matrixTransform(svg.getScreenCTM().inverse());
if(q.x<p[0]||q.x>p[2]||q.y<p[1]||q.y>p[3]){hide();guide.style.display='none';marks.innerHTML='';return;}
var t=data.t0+(q.x-p[0])/(p[2]-p[0])*(data.t1-data.t0),lines=[],html='',gx=null;
data.series.forEach(function(s,i){if(data.hidden[i])return;var k=near(s.t,t);if(k<0)return;
if(gx===null){gx=p[0]+(s.t[k]-data.t0)/(data.t1-data.t0)*(p[2]-p[0]);lines.push(full(s.t[k]));}
var y=p[3]-(s.v[k]-data.v0)/(data.v1-data.v0)*(p[3]-p[1]);
lines.push(s.name+': '+s.v[k]);
html+='<circle cx="'+(p[0]+(s.t[k]-data.t0)/(data.t1-data.t0)*(p[2]-p[0]))+'" cy="'+y+'" r="4" fill="'+s.color+'"/>';});
if(gx===null){hide();return;}
guide.setAttribute('x1',gx);guide.setAttribute('x2',gx);guide.style.display='';
marks.innerHTML=html;show(e,lines.join('\n'));});
svg.addEventListener('mouseleave',function(){hide();guide.style.display='none';marks.innerHTML='';});
var T0=data.t0,T1=data.t1,lines=document.getElementById('lines'),xaxis=document.getElementById('xaxis'),
sel=document.getElementById('sel'),drag=null;
function X(t){return p[0]+(t-data.t0)/(data.t1-data.t0)*(p[2]-p[0]);}
function Y(v){return p[3]-(v-data.v0)/(data.v1-data.v0)*(p[3]-p[1]);}
function two(n){return (n<10?'0':'')+n;}
function off(t){var z=data.tz,lo=0,hi=z.length-1;while(lo<hi){var m=(lo+hi+1)>>1;if(z[m][0]<=t)lo=m;else hi=m-1;}
return z.length?z[lo][1]:0;}
function when(t){return new Date(Math.floor(t/1e6)+off(t)*60000);}
function tick(t){var d=when(t);if(data.t1-data.t0<6e11)return two(d.getUTCHours())+':'+two(d.getUTCMinutes())+':'+two(d.getUTCSeconds());
return two(d.getUTCMonth()+1)+'/'+two(d.getUTCDate())+' '+two(d.getUTCHours())+':'+two(d.getUTCMinutes());}
function full(t){var d=when(t),ms=d.getUTCMilliseconds();return d.getUTCFullYear()+'/'+two(d.getUTCMonth()+1)+'/'+
two(d.getUTCDate())+' '+two(d.getUTCHours())+':'+two(d.getUTCMinutes())+':'+two(d.getUTCSeconds())+'.'+(ms<100?'0':'')+two(ms);}
function dec(s,a,b){var n=b-a,W=p[2]-p[0],out=[],i;if(n<=4*W){for(i=a;i<b;i++)out.push(i);return out;}
var cur=-1,f,lo,hi,la;function put(){[f,lo,hi,la].sort(function(x,y){return x-y;}).forEach(function(k){
if(out[out.length-1]!==k)out.push(k);});}
for(i=a;i<b;i++){var bk=Math.min(W-1,Math.floor((s.t[i]-data.t0)/(data.t1-data.t0)*W));
if(bk!==cur){if(cur>=0)put();cur=bk;f=lo=hi=la=i;}else{if(s.v[i]<s.v[lo])lo=i;if(s.v[i]>s.v[hi])hi=i;la=i;}}
if(cur>=0)put();return out;}
function redraw(){var h='',k,i;for(k=0;k<=5;k++){var t=data.t0+(data.t1-data.t0)*k/5,x=X(t).toFixed(1);
h+='<line x1="'+x+'" x2="'+x+'" y1="'+p[3]+'" y2="'+(p[3]+5)+'" stroke="#999"/><text x="'+x+'" y="'+(p[3]+20)+
'" text-anchor="middle" font-size="12">'+tick(t)+'</text>';}xaxis.innerHTML=h;h='';
data.series.forEach(function(s,n){var a=0,b=s.t.length;while(a<b-1&&s.t[a+1]<data.t0)a++;
while(b>a+1&&s.t[b-2]>data.t1)b--;var pts=[],dots='';dec(s,a,b).forEach(function(i){pts.push(X(s.t[i]).toFixed(1)+','+Y(s.v[i]).toFixed(1));
if(b-a<200)dots+='<circle cx="'+X(s.t[i]).toFixed(1)+'" cy="'+Y(s.v[i]).toFixed(1)+'" r="3"/>';});
var off=data.hidden[n]?' class="off-el"':'';
h+='<polyline data-s="'+n+'"'+off+' points="'+pts.join(' ')+'" fill="none" stroke="'+s.color+'" stroke-width="2"/>';
if(dots)h+='<g data-s="'+n+'"'+off+' fill="'+s.color+'">'+dots+'</g>';});lines.innerHTML=h;}
function zoom(a,b){if(!(b-a>=1e6))return;data.t0=a;data.t1=b;redraw();
document.body.setAttribute('data-zoom',tick(a)+' - '+tick(b));}
function at(e){var pt=svg.createSVGPoint();pt.x=e.clientX;pt.y=e.clientY;return pt.matrixTransform(svg.getScreenCTM().inverse()).x;}
svg.addEventListener('mousedown',function(e){var x=at(e);if(x<p[0]||x>p[2])return;drag=x;e.preventDefault();});
svg.addEventListener('mousemove',function(e){if(drag===null)return;var x=Math.max(p[0],Math.min(p[2],at(e)));
sel.setAttribute('x',Math.min(drag,x));sel.setAttribute('width',Math.abs(x-drag));sel.style.display='';});
window.addEventListener('mouseup',function(e){if(drag===null)return;var x=Math.max(p[0],Math.min(p[2],at(e))),a=Math.min(drag,x),b=Math.max(drag,x);
drag=null;sel.style.display='none';if(b-a<4)return;var f=function(v){return data.t0+(v-p[0])/(p[2]-p[0])*(data.t1-data.t0);};zoom(f(a),f(b));});
svg.addEventListener('dblclick',function(){data.t0=T0;data.t1=T1;redraw();document.body.removeAttribute('data-zoom');});
var m=/zoom=([0-9.e+-]+),([0-9.e+-]+)/.exec(location.hash);if(m)zoom(+m[1],+m[2]);}
document.body.setAttribute('data-ready','1');})();"##;

/// The page of `spec`.
pub fn render(spec: &ChartSpec) -> String {
    let (w, h, svg, data) = match spec {
        ChartSpec::TimeSeries(t) => time_series(t),
        ChartSpec::TopN(t) => pie(t),
        ChartSpec::Heatmap(m) => heatmap(m),
        ChartSpec::Graph(g) => graph(g),
    };
    // No `<` in the JSON: a label cannot end its script element early.
    let data = data.to_string().replace('<', "\\u003c");
    let title = esc(spec.title());
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\n<body>\n\
         <svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{title}\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\n\
         <text x=\"{cx}\" y=\"28\" text-anchor=\"middle\" font-size=\"20\">{title}</text>\n{svg}</svg>\n\
         <div id=\"tip\"></div>\n\
         <script type=\"application/json\" id=\"chart-data\">{data}</script>\n\
         <script>{SCRIPT}</script>\n</body></html>\n",
        cx = w / 2
    )
}

fn no_data(w: u32, h: u32) -> String {
    format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"18\">No data</text>\n",
        w / 2,
        h / 2
    )
}

type Page = (u32, u32, String, serde_json::Value);

fn time_series(t: &TimeSeries) -> Page {
    let (w, h) = (1000u32, 500u32);
    let (l, top, r, b) = (90.0, 50.0, 970.0, 430.0);
    let mut s = String::new();
    if t.series.iter().all(|x| x.points.is_empty()) {
        return (w, h, no_data(w, h), json!({"kind": "none"}));
    }
    let (t0, t1) = super::time_range(t);
    let (v0, v1) = super::value_range(t);
    let ticks = super::nice_ticks(v0, v1, 6);
    let (v0, v1) = (ticks[0], ticks[ticks.len() - 1]);
    let px = |x: i64| l + (x - t0) as f64 / (t1 - t0) as f64 * (r - l);
    let py = |v: f64| b - (v - v0) / (v1 - v0) * (b - top);
    // Grid and axes.
    for &v in &ticks {
        let y = py(v);
        let _ = writeln!(
            s,
            "<line x1=\"{l}\" x2=\"{r}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eee\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\">{}</text>",
            l - 6.0,
            y + 4.0,
            esc(&super::fmt_value(v))
        );
    }
    // The x axis and the lines are groups the script redraws when zooming.
    let _ = write!(
        s,
        "<defs><clipPath id=\"clip\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs>\
         <rect id=\"sel\" y=\"{top}\" height=\"{}\" fill=\"rgba(84,112,198,.15)\" style=\"display:none\"/>\n<g id=\"xaxis\">",
        l - 4.0,
        top - 4.0,
        r - l + 8.0,
        b - top + 8.0,
        b - top
    );
    for k in 0..=5 {
        let x = t0 + ((t1 - t0) as f64 * f64::from(k) / 5.0) as i64;
        let _ = writeln!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{b}\" y2=\"{1}\" stroke=\"#999\"/>\
             <text x=\"{0:.1}\" y=\"{2}\" text-anchor=\"middle\" font-size=\"12\">{3}</text>",
            px(x),
            b + 5.0,
            b + 20.0,
            esc(&super::tick_time(x, t.utc))
        );
    }
    let _ = writeln!(s, "</g>");
    let _ = writeln!(
        s,
        "<line x1=\"{l}\" x2=\"{r}\" y1=\"{b}\" y2=\"{b}\" stroke=\"#333\"/>\
         <line x1=\"{l}\" x2=\"{l}\" y1=\"{top}\" y2=\"{b}\" stroke=\"#333\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\">Time</text>\
         <text transform=\"translate(20 {}) rotate(-90)\" text-anchor=\"middle\" font-size=\"14\">{}</text>",
        (l + r) / 2.0,
        b + 45.0,
        (top + b) / 2.0,
        esc(&t.y_name)
    );
    let mut series = Vec::new();
    let mut legend = String::new();
    let _ = write!(s, "<g id=\"lines\" clip-path=\"url(#clip)\">");
    for (i, se) in t.series.iter().enumerate() {
        let c = hex(super::color(i));
        let pts: Vec<(i64, f64)> = se.points.iter().copied().filter(|p| p.1.is_finite()).collect();
        let mut poly = String::new();
        // What each of the plot's pixel columns shows (all points stay in the data).
        for &(x, v) in &super::decimate(&pts, t0, t1, (r - l) as usize) {
            let _ = write!(poly, "{:.1},{:.1} ", px(x), py(v));
        }
        let _ = writeln!(
            s,
            "<polyline data-s=\"{i}\" points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>",
            poly.trim_end()
        );
        if pts.len() < 200 {
            let _ = write!(s, "<g data-s=\"{i}\" fill=\"{c}\">");
            for &(x, v) in &pts {
                let _ = write!(s, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/>", px(x), py(v));
            }
            let _ = writeln!(s, "</g>");
        }
        // Legend entry (click: hide/show).
        let ly = 14.0 + 18.0 * i as f64;
        let _ = writeln!(
            legend,
            "<g class=\"lg\" data-s=\"{i}\"><rect x=\"{}\" y=\"{}\" width=\"18\" height=\"4\" fill=\"{c}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text></g>",
            r - 170.0,
            ly,
            r - 146.0,
            ly + 6.0,
            esc(&super::cut(&se.name, 24))
        );
        series.push(json!({
            "name": se.name,
            "color": c,
            "t": pts.iter().map(|p| p.0 as f64).collect::<Vec<_>>(),
            "v": pts.iter().map(|p| p.1).collect::<Vec<_>>(),
        }));
    }
    let _ = writeln!(s, "</g>\n{legend}");
    let _ = writeln!(
        s,
        "<line id=\"guide\" y1=\"{top}\" y2=\"{b}\" stroke=\"#888\" stroke-dasharray=\"4 3\" style=\"display:none\"/><g id=\"marks\"></g>"
    );
    let data = json!({
        "kind": "time", "plot": [l, top, r, b], "t0": t0 as f64, "t1": t1 as f64,
        "v0": v0, "v1": v1, "series": series, "tz": tz_changes(t),
    });
    (w, h, s, data)
}

/// The offsets of the shown times from UTC: `[time, minutes]` from each time on (local time,
/// looked up once per hour of data; `[[t0, 0]]` in UTC). The script formats tooltips and
/// zoomed ticks with them, whatever zone the page is viewed in.
fn tz_changes(t: &TimeSeries) -> serde_json::Value {
    use chrono::{Local, Offset, TimeZone};
    let mut times: Vec<i64> = t.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
    times.sort_unstable();
    let first = times.first().copied().unwrap_or(0);
    if t.utc {
        return json!([[first as f64, 0]]);
    }
    let hour = 3_600_000_000_000i64;
    let mut out: Vec<(i64, i32)> = Vec::new();
    let mut last_hour = None;
    for x in times {
        if last_hour == Some(x.div_euclid(hour)) {
            continue;
        }
        last_hour = Some(x.div_euclid(hour));
        let off = Local.timestamp_nanos(x).offset().fix().local_minus_utc() / 60;
        if out.last().is_none_or(|l| l.1 != off) {
            out.push((x, off));
        }
    }
    json!(out.iter().map(|(x, o)| json!([*x as f64, o])).collect::<Vec<_>>())
}

fn pie(t: &TopN) -> Page {
    let (w, h) = (900u32, 520u32);
    let total = t.total();
    if total == 0 {
        return (w, h, no_data(w, h), json!({"kind": "none"}));
    }
    let (cx, cy, r) = (260.0, 280.0, 210.0);
    let mut s = String::from("<g id=\"slices\">\n");
    let mut legend = String::new();
    let mut a = 0.0f64;
    for (i, sl) in t.slices.iter().enumerate() {
        let c = hex(super::slice_color(i));
        let span = std::f64::consts::TAU * sl.value as f64 / total as f64;
        let pct = 100.0 * sl.value as f64 / total as f64;
        let tip = esc(&format!("{}\n{} ({pct:.1}%)", sl.label, sl.value));
        if sl.value == total {
            let _ = writeln!(
                s,
                "<circle data-s=\"{i}\" data-tip=\"{tip}\" cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\" fill=\"{c}\"/>"
            );
        } else if span > 0.0 {
            let (x0, y0) = (cx + r * a.sin(), cy - r * a.cos());
            let (x1, y1) = (cx + r * (a + span).sin(), cy - r * (a + span).cos());
            let large = i32::from(span > std::f64::consts::PI);
            let _ = writeln!(
                s,
                "<path data-s=\"{i}\" data-tip=\"{tip}\" fill=\"{c}\" stroke=\"#fff\" stroke-width=\"1\" \
                 d=\"M{cx},{cy} L{x0:.2},{y0:.2} A{r},{r} 0 {large} 1 {x1:.2},{y1:.2} Z\"/>"
            );
        }
        a += span;
        let ly = 70.0 + 30.0 * i as f64;
        let _ = writeln!(
            legend,
            "<g class=\"lg\" data-s=\"{i}\"><rect x=\"500\" y=\"{}\" width=\"16\" height=\"16\" fill=\"{c}\"/>\
             <text x=\"524\" y=\"{}\" font-size=\"13\">{}</text></g>",
            ly - 8.0,
            ly + 5.0,
            esc(&format!("{}({}) {pct:.1}%", super::cut(&sl.label, 40), sl.value))
        );
    }
    let _ = writeln!(s, "</g>\n{legend}");
    let slices: Vec<_> = t
        .slices
        .iter()
        .enumerate()
        .map(|(i, x)| json!({"label": x.label, "value": x.value, "color": hex(super::slice_color(i))}))
        .collect();
    let data = json!({"kind": "pie", "cx": cx, "cy": cy, "r": r, "slices": slices});
    (w, h, s, data)
}

fn heatmap(m: &Heatmap) -> Page {
    let (w, h) = (1000u32, 500u32);
    if m.cells.is_empty() || m.x_labels.is_empty() || m.y_labels.is_empty() {
        return (w, h, no_data(w, h), json!({"kind": "none"}));
    }
    let (l, top, r, b) = (70.0, 45.0, 900.0, 440.0);
    let nx = m.x_labels.len() as f64;
    let ny = m.y_labels.len() as f64;
    let (cw, ch) = ((r - l) / nx, (b - top) / ny);
    let max = m.max();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<rect x=\"{l}\" y=\"{top}\" width=\"{}\" height=\"{}\" fill=\"#f0f0f0\"/>",
        r - l,
        b - top
    );
    for &(x, y, v) in &m.cells {
        let (Some(xl), Some(yl)) = (m.x_labels.get(x), m.y_labels.get(y)) else { continue };
        let tip = esc(&format!("{xl} {yl}\n{v}"));
        let _ = writeln!(
            s,
            "<rect data-tip=\"{tip}\" x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{}\"/>",
            l + x as f64 * cw,
            b - (y as f64 + 1.0) * ch,
            (cw - 1.0).max(0.5),
            (ch - 1.0).max(0.5),
            hex(super::heat(v, max))
        );
    }
    let every_y = m.y_labels.len() / 24 + 1;
    for (y, yl) in m.y_labels.iter().enumerate().step_by(every_y) {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{}</text>",
            l - 6.0,
            b - (y as f64 + 0.5) * ch + 4.0,
            esc(yl)
        );
    }
    let every_x = m.x_labels.len() / 10 + 1;
    for (x, xl) in m.x_labels.iter().enumerate().step_by(every_x) {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
            l + (x as f64 + 0.5) * cw,
            b + 16.0,
            esc(xl)
        );
    }
    // Colour scale.
    let _ = writeln!(
        s,
        "<defs><linearGradient id=\"heat\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\
         <stop offset=\"0\" stop-color=\"{}\"/><stop offset=\"0.5\" stop-color=\"{}\"/>\
         <stop offset=\"1\" stop-color=\"{}\"/></linearGradient></defs>\
         <rect x=\"930\" y=\"{top}\" width=\"16\" height=\"{}\" fill=\"url(#heat)\"/>\
         <text x=\"938\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\
         <text x=\"938\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">0</text>",
        hex(super::HEAT[0]),
        hex(super::HEAT[1]),
        hex(super::HEAT[2]),
        b - top,
        top - 4.0,
        max.max(10),
        b + 14.0
    );
    let data = json!({"kind": "heatmap", "max": max});
    (w, h, s, data)
}

fn graph(g: &Graph) -> Page {
    let (w, h) = (900u32, 700u32);
    if g.nodes.is_empty() {
        return (w, h, no_data(w, h), json!({"kind": "none"}));
    }
    let (cx, cy, r) = (450.0, 370.0, 250.0);
    let pos: Vec<(f64, f64)> =
        super::circle_layout(g).into_iter().map(|(x, y)| (cx + r * x, cy + r * y)).collect();
    let wmax = g.edges.iter().map(|e| e.weight).max().unwrap_or(1).max(1) as f64;
    let mut s = String::new();
    for e in &g.edges {
        let (Some(a), Some(b)) = (pos.get(e.from), pos.get(e.to)) else { continue };
        let (Some(na), Some(nb)) = (g.nodes.get(e.from), g.nodes.get(e.to)) else { continue };
        let tip = esc(&format!("{} → {}\n{}", na.label, nb.label, e.weight));
        let sw = 1.0 + 3.0 * e.weight as f64 / wmax;
        let _ = writeln!(
            s,
            "<line data-tip=\"{tip}\" data-ends=\"{} {}\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#aaa\" stroke-width=\"{sw:.1}\"/>",
            na.group, nb.group, a.0, a.1, b.0, b.1
        );
    }
    let many = g.nodes.len() > 60;
    for (n, p) in g.nodes.iter().zip(&pos) {
        let c = hex(super::color(n.group));
        let group = g.groups.get(n.group).map_or("", String::as_str);
        let tip = esc(&format!("{}\n{group}", n.label));
        let _ = write!(
            s,
            "<g data-s=\"{}\" data-tip=\"{tip}\"><circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\" fill=\"{c}\"/>",
            n.group,
            p.0,
            p.1,
            if many { 4 } else { 7 }
        );
        if !many {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
                p.0 + 10.0,
                p.1 + 4.0,
                esc(&super::cut(&n.label, 24))
            );
        }
        let _ = writeln!(s, "</g>");
    }
    for (i, name) in g.groups.iter().enumerate() {
        let y = 50.0 + 22.0 * i as f64;
        let _ = writeln!(
            s,
            "<g class=\"lg\" data-s=\"{i}\"><circle cx=\"20\" cy=\"{y}\" r=\"6\" fill=\"{}\"/>\
             <text x=\"32\" y=\"{}\" font-size=\"12\">{}</text></g>",
            hex(super::color(i)),
            y + 4.0,
            esc(&super::cut(name, 30))
        );
    }
    let data = json!({"kind": "graph", "nodes": g.nodes.len(), "edges": g.edges.len()});
    (w, h, s, data)
}
