//! A hand-written SVG chart for `unipool sweep`: throughput (left axis) and
//! p99 latency (right axis) against pool size, with the knee marked.

use std::fmt::Write as _;

pub struct PlotPoint {
    pub size: usize,
    pub throughput: f64,
    pub p99_ms: f64,
}

pub struct PlotSpec<'a> {
    pub title: &'a str,
    pub subtitle: &'a str,
    pub points: &'a [PlotPoint],
    /// index into `points`
    pub knee: Option<usize>,
    /// e.g. "≥ 95% of max throughput"
    pub knee_rule: &'a str,
}

const W: f64 = 900.0;
const H: f64 = 560.0;
const LEFT: f64 = 95.0;
const RIGHT: f64 = 95.0;
const TOP: f64 = 95.0;
const BOTTOM: f64 = 75.0;
const BLUE: &str = "#1f62b4";
const RED: &str = "#d0402b";
const GREEN: &str = "#2a8f3c";

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `n` ticks over `range`.
pub fn nice_step(range: f64, n: usize) -> f64 {
    if range <= 0.0 || !range.is_finite() {
        return 1.0;
    }
    let raw = range / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nf = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nf * mag
}

/// Axis maximum: the smallest multiple of a nice step that is >= `max` (with 5% headroom).
fn nice_axis(max: f64) -> (f64, f64) {
    let max = if max > 0.0 && max.is_finite() {
        max * 1.05
    } else {
        1.0
    };
    let step = nice_step(max, 5);
    ((max / step).ceil() * step, step)
}

pub fn fmt_count(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        trim(format!("{:.2}", v / 1e6)) + "M"
    } else if a >= 1e3 {
        trim(format!("{:.2}", v / 1e3)) + "k"
    } else if a >= 10.0 || v == v.trunc() {
        format!("{:.0}", v)
    } else {
        trim(format!("{:.2}", v))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Shortens text to `max` characters, keeping both ends.
fn ellipsize(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max {
        return s.to_string();
    }
    let keep = max.saturating_sub(1) / 2;
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[chars.len() - keep..].iter().collect();
    format!("{head}…{tail}")
}

pub fn render(spec: &PlotSpec) -> String {
    let pts = spec.points;
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let (x0, y0) = (LEFT, TOP + ph); // origin (bottom-left)

    let min_s = pts.iter().map(|p| p.size).min().unwrap_or(1).max(1) as f64;
    let max_s = pts.iter().map(|p| p.size).max().unwrap_or(1).max(1) as f64;
    let log_x = pts.len() >= 3 && max_s / min_s >= 8.0;
    let xpos = |s: f64| -> f64 {
        if max_s <= min_s {
            return x0 + pw / 2.0;
        }
        let f = if log_x {
            (s.log2() - min_s.log2()) / (max_s.log2() - min_s.log2())
        } else {
            (s - min_s) / (max_s - min_s)
        };
        x0 + 20.0 + f * (pw - 40.0)
    };
    let (tmax, tstep) = nice_axis(pts.iter().map(|p| p.throughput).fold(0.0, f64::max));
    let (lmax, lstep) = nice_axis(pts.iter().map(|p| p.p99_ms).fold(0.0, f64::max));
    let ty = |v: f64| y0 - (v / tmax) * ph;
    let ly = |v: f64| y0 - (v / lmax) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="Helvetica, Arial, sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        s,
        r#"<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="28" text-anchor="middle" font-size="18" font-weight="bold">{}</text>"#,
        W / 2.0,
        escape(&ellipsize(spec.title, 72))
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="49" text-anchor="middle" fill="#555">{}</text>"##,
        W / 2.0,
        escape(&ellipsize(spec.subtitle, 110))
    );

    // grid + left axis ticks (throughput)
    let _ = writeln!(s, r##"<g class="grid" stroke="#e3e3e3" stroke-width="1">"##);
    let mut v = 0.0;
    while v <= tmax + tstep * 1e-9 {
        let y = ty(v);
        let _ = writeln!(
            s,
            r#"<line x1="{x0:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/>"#,
            x0 + pw
        );
        v += tstep;
    }
    let _ = writeln!(s, "</g>");
    let mut v = 0.0;
    while v <= tmax + tstep * 1e-9 {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{BLUE}">{}</text>"#,
            x0 - 8.0,
            ty(v) + 4.0,
            fmt_count(v)
        );
        v += tstep;
    }
    // right axis ticks (p99 ms)
    let mut v = 0.0;
    while v <= lmax + lstep * 1e-9 {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="start" fill="{RED}">{}</text>"#,
            x0 + pw + 8.0,
            ly(v) + 4.0,
            fmt_count(v)
        );
        v += lstep;
    }
    // x ticks: every measured size when few, else powers of two / nice steps
    let mut xticks: Vec<f64> = Vec::new();
    if pts.len() <= 14 {
        xticks.extend(pts.iter().map(|p| p.size as f64));
    } else if log_x {
        let mut t = 1.0;
        while t <= max_s {
            if t >= min_s {
                xticks.push(t);
            }
            t *= 2.0;
        }
    } else {
        let st = nice_step(max_s - min_s, 10).max(1.0);
        let mut t = (min_s / st).ceil() * st;
        while t <= max_s {
            xticks.push(t);
            t += st;
        }
    }
    for t in &xticks {
        let x = xpos(*t);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/>"##,
            y0 + 5.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            y0 + 20.0,
            fmt_count(*t)
        );
    }
    // axes frame
    let _ = writeln!(
        s,
        r##"<path d="M{x0:.1},{TOP:.1} V{y0:.1} H{:.1} V{TOP:.1}" fill="none" stroke="#333" stroke-width="1.2"/>"##,
        x0 + pw
    );
    // axis labels
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="14">pool size (connections{})</text>"#,
        x0 + pw / 2.0,
        H - 22.0,
        if log_x { ", log scale" } else { "" }
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(24,{:.1}) rotate(-90)" text-anchor="middle" font-size="14" fill="{BLUE}">throughput (ops/s)</text>"#,
        TOP + ph / 2.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate({:.1},{:.1}) rotate(90)" text-anchor="middle" font-size="14" fill="{RED}">p99 latency (ms)</text>"#,
        W - 24.0,
        TOP + ph / 2.0
    );

    // knee marker (under the series)
    if let Some(k) = spec.knee.and_then(|k| pts.get(k)) {
        let x = xpos(k.size as f64);
        let _ = writeln!(
            s,
            r#"<line class="knee" x1="{x:.1}" y1="{TOP:.1}" x2="{x:.1}" y2="{y0:.1}" stroke="{GREEN}" stroke-width="2" stroke-dasharray="6,4"/>"#
        );
        let label = format!("knee: pool size {} ({})", k.size, spec.knee_rule);
        let label2 = format!("{} ops/s, p99 {:.2} ms", fmt_count(k.throughput), k.p99_ms);
        let (anchor, lx) = if x > x0 + pw * 0.5 {
            ("end", x - 8.0)
        } else {
            ("start", x + 8.0)
        };
        let _ = writeln!(
            s,
            r#"<text id="knee-label" x="{lx:.1}" y="{:.1}" text-anchor="{anchor}" fill="{GREEN}" font-weight="bold">{}</text>"#,
            TOP + 18.0,
            escape(&label)
        );
        let _ = writeln!(
            s,
            r#"<text x="{lx:.1}" y="{:.1}" text-anchor="{anchor}" fill="{GREEN}">{}</text>"#,
            TOP + 34.0,
            escape(&label2)
        );
        let _ = writeln!(
            s,
            r#"<circle cx="{x:.1}" cy="{:.1}" r="10" fill="none" stroke="{GREEN}" stroke-width="2.5"/>"#,
            ty(k.throughput)
        );
    }

    // series
    let poly = |f: &dyn Fn(&PlotPoint) -> f64| -> String {
        pts.iter()
            .map(|p| format!("{:.1},{:.1}", xpos(p.size as f64), f(p)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(
        s,
        r#"<polyline class="throughput" points="{}" fill="none" stroke="{BLUE}" stroke-width="2.5"/>"#,
        poly(&|p| ty(p.throughput))
    );
    let _ = writeln!(
        s,
        r#"<polyline class="p99" points="{}" fill="none" stroke="{RED}" stroke-width="2" stroke-dasharray="7,4"/>"#,
        poly(&|p| ly(p.p99_ms))
    );
    for p in pts {
        let x = xpos(p.size as f64);
        let _ = writeln!(
            s,
            r#"<circle cx="{x:.1}" cy="{:.1}" r="4" fill="{BLUE}"/>"#,
            ty(p.throughput)
        );
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{RED}"/>"#,
            x - 3.5,
            ly(p.p99_ms) - 3.5
        );
    }

    // legend (above the plot area)
    let ly0 = TOP - 22.0;
    let lx0 = x0;
    let _ = writeln!(
        s,
        r#"<line x1="{lx0:.1}" y1="{ly0:.1}" x2="{:.1}" y2="{ly0:.1}" stroke="{BLUE}" stroke-width="2.5"/>"#,
        lx0 + 28.0
    );
    let _ = writeln!(
        s,
        r#"<circle cx="{:.1}" cy="{ly0:.1}" r="4" fill="{BLUE}"/>"#,
        lx0 + 14.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}">throughput (left axis)</text>"#,
        lx0 + 36.0,
        ly0 + 4.0
    );
    let lx1 = lx0 + 210.0;
    let _ = writeln!(
        s,
        r#"<line x1="{lx1:.1}" y1="{ly0:.1}" x2="{:.1}" y2="{ly0:.1}" stroke="{RED}" stroke-width="2" stroke-dasharray="7,4"/>"#,
        lx1 + 28.0
    );
    let _ = writeln!(
        s,
        r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{RED}"/>"#,
        lx1 + 10.5,
        ly0 - 3.5
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}">p99 latency (right axis)</text>"#,
        lx1 + 36.0,
        ly0 + 4.0
    );
    let lx2 = lx1 + 220.0;
    let _ = writeln!(
        s,
        r#"<line x1="{lx2:.1}" y1="{ly0:.1}" x2="{:.1}" y2="{ly0:.1}" stroke="{GREEN}" stroke-width="2" stroke-dasharray="6,4"/>"#,
        lx2 + 28.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}">knee</text>"#,
        lx2 + 36.0,
        ly0 + 4.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<PlotPoint> {
        [
            (1, 100.0, 5.0),
            (2, 190.0, 3.0),
            (4, 350.0, 2.0),
            (8, 480.0, 2.5),
            (16, 500.0, 6.0),
            (32, 470.0, 12.0),
        ]
        .into_iter()
        .map(|(size, throughput, p99_ms)| PlotPoint {
            size,
            throughput,
            p99_ms,
        })
        .collect()
    }

    #[test]
    fn long_titles_are_shortened() {
        let t = "x".repeat(50) + &"y".repeat(50);
        let e = ellipsize(&t, 72);
        assert_eq!(e.chars().count(), 71);
        assert!(e.starts_with("xxx") && e.ends_with("yyy") && e.contains('…'));
        assert_eq!(ellipsize("short", 72), "short");
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(100.0, 5), 20.0);
        assert_eq!(nice_step(7.0, 5), 2.0);
        assert_eq!(nice_step(0.3, 5), 0.1);
        assert_eq!(nice_step(0.0, 5), 1.0);
    }

    #[test]
    fn counts_format_compactly() {
        assert_eq!(fmt_count(0.0), "0");
        assert_eq!(fmt_count(500.0), "500");
        assert_eq!(fmt_count(12_000.0), "12k");
        assert_eq!(fmt_count(1_500.0), "1.5k");
        assert_eq!(fmt_count(2_500_000.0), "2.5M");
        assert_eq!(fmt_count(0.5), "0.5");
    }

    #[test]
    fn svg_has_both_series_axes_and_knee() {
        let pts = sample();
        let svg = render(&PlotSpec {
            title: "t <&>",
            subtitle: "sub",
            points: &pts,
            knee: Some(3),
            knee_rule: "≥ 95% of max throughput",
        });
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("t &lt;&amp;&gt;"));
        assert!(svg.contains(r#"class="throughput""#) && svg.contains(r#"class="p99""#));
        assert!(svg.contains("knee: pool size 8"));
        assert!(svg.contains("throughput (ops/s)") && svg.contains("p99 latency (ms)"));
        assert!(svg.contains("log scale"));
        // each series polyline has one vertex per point
        for class in ["throughput", "p99"] {
            let start = svg.find(&format!(r#"class="{class}" points=""#)).unwrap();
            let rest = &svg[start..];
            let pts_attr = rest.split('"').nth(3).unwrap();
            assert_eq!(pts_attr.split(' ').count(), pts.len(), "{class}");
        }
        // every x/y attribute and polyline vertex lies inside the canvas
        for attr in ["x", "y", "x1", "x2", "y1", "y2", "cx", "cy"] {
            for part in svg.split(&format!(" {attr}=\"")).skip(1) {
                let v: f64 = part.split('"').next().unwrap().parse().unwrap();
                let lim = if attr.contains('x') { W } else { H };
                assert!((0.0..=lim).contains(&v), "{attr}={v}");
            }
        }
        for part in svg.split(" points=\"").skip(1) {
            for xy in part.split('"').next().unwrap().split(' ') {
                let (x, y) = xy.split_once(',').unwrap();
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                assert!((0.0..=W).contains(&x) && (0.0..=H).contains(&y), "{xy}");
            }
        }
    }

    #[test]
    fn single_point_and_no_knee_render() {
        let pts = vec![PlotPoint {
            size: 4,
            throughput: 0.0,
            p99_ms: 0.0,
        }];
        let svg = render(&PlotSpec {
            title: "x",
            subtitle: "",
            points: &pts,
            knee: None,
            knee_rule: "",
        });
        assert!(!svg.contains("knee: pool size"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}
