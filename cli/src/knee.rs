//! Sweep helpers that need no database: parsing `--sizes` and finding the knee.

/// Parses a list of pool sizes: comma-separated items, each a number `N`,
/// an inclusive range `A..B` (every integer), `A..B:S` (step S) or
/// `A..B:x2` (geometric, multiply by 2 — any integer factor >= 2; B is
/// always included). The result is sorted and de-duplicated.
pub fn parse_sizes(spec: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    let bad = |item: &str, why: &str| {
        format!("--sizes: invalid item '{item}': {why} (allowed: N, A..B, A..B:STEP, A..B:xFACTOR with 1 <= A <= B <= 10000)")
    };
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let num = |s: &str| -> Result<usize, String> {
            let n: usize = s
                .trim()
                .parse()
                .map_err(|_| bad(item, &format!("'{s}' is not a whole number")))?;
            if !(1..=10_000).contains(&n) {
                return Err(bad(item, &format!("{n} is out of range")));
            }
            Ok(n)
        };
        if let Some((a, rest)) = item.split_once("..") {
            let (b, step) = match rest.split_once(':') {
                Some((b, s)) => (b, Some(s.trim())),
                None => (rest, None),
            };
            let (a, b) = (num(a)?, num(b)?);
            if a > b {
                return Err(bad(item, "start is larger than end"));
            }
            match step {
                None => out.extend(a..=b),
                Some(s) if s.starts_with('x') || s.starts_with('*') => {
                    let f: usize = s[1..]
                        .parse()
                        .map_err(|_| bad(item, "factor is not a whole number"))?;
                    if f < 2 {
                        return Err(bad(item, "factor must be >= 2"));
                    }
                    let mut v = a;
                    while v < b {
                        out.push(v);
                        v *= f;
                    }
                    out.push(b);
                }
                Some(s) => {
                    let st: usize = s
                        .parse()
                        .map_err(|_| bad(item, "step is not a whole number"))?;
                    if st == 0 {
                        return Err(bad(item, "step must be >= 1"));
                    }
                    out.extend((a..=b).step_by(st));
                }
            }
        } else {
            out.push(num(item)?);
        }
    }
    out.sort_unstable();
    out.dedup();
    if out.is_empty() {
        return Err(format!(
            "--sizes: '{spec}' lists no pool size (example: 1,2,4,8,16,32 or 1..32:x2)"
        ));
    }
    if out.len() > 200 {
        return Err(format!(
            "--sizes: '{spec}' expands to {} sizes; at most 200 are allowed",
            out.len()
        ));
    }
    Ok(out)
}

/// The knee of a throughput-vs-pool-size curve: the smallest pool size whose
/// throughput reaches `threshold` (e.g. 0.95) of the maximum throughput seen
/// in the sweep. Past it, more connections buy less than (1 - threshold) of
/// extra throughput and usually cost latency. `points` are (size, throughput)
/// in any order; returns the index into `points`, or None when there are no
/// points or no positive throughput.
pub fn knee_index(points: &[(usize, f64)], threshold: f64) -> Option<usize> {
    let max = points
        .iter()
        .map(|p| p.1)
        .filter(|t| t.is_finite())
        .fold(0.0f64, f64::max);
    if max <= 0.0 {
        return None;
    }
    points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.1.is_finite() && p.1 >= threshold * max)
        .min_by_key(|(_, p)| p.0)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_lists_and_ranges() {
        assert_eq!(
            parse_sizes("1,2,4,8,16,32").unwrap(),
            vec![1, 2, 4, 8, 16, 32]
        );
        assert_eq!(parse_sizes("1..5").unwrap(), vec![1, 2, 3, 4, 5]);
        assert_eq!(parse_sizes("1..32:x2").unwrap(), vec![1, 2, 4, 8, 16, 32]);
        assert_eq!(parse_sizes("1..20:x2").unwrap(), vec![1, 2, 4, 8, 16, 20]);
        assert_eq!(parse_sizes("2..10:4").unwrap(), vec![2, 6, 10]);
        assert_eq!(parse_sizes("8, 1, 4,4").unwrap(), vec![1, 4, 8]);
    }

    #[test]
    fn sizes_errors_name_the_item() {
        let e = parse_sizes("1,0").unwrap_err();
        assert!(e.contains("'0'") && e.contains("out of range"), "{e}");
        let e = parse_sizes("5..2").unwrap_err();
        assert!(e.contains("'5..2'") && e.contains("start is larger"), "{e}");
        let e = parse_sizes("1..9:x1").unwrap_err();
        assert!(e.contains("factor must be >= 2"), "{e}");
        assert!(parse_sizes("abc")
            .unwrap_err()
            .contains("'abc' is not a whole number"));
        assert!(parse_sizes("").is_err());
        assert!(parse_sizes("1..1000").unwrap_err().contains("at most 200"));
    }

    #[test]
    fn knee_is_smallest_size_reaching_threshold() {
        let pts = [
            (1, 100.0),
            (2, 190.0),
            (4, 350.0),
            (8, 480.0),
            (16, 500.0),
            (32, 470.0),
        ];
        // 95% of 500 = 475 -> size 8
        assert_eq!(knee_index(&pts, 0.95).map(|i| pts[i].0), Some(8));
        // 70% of 500 = 350 -> size 4
        assert_eq!(knee_index(&pts, 0.70).map(|i| pts[i].0), Some(4));
        // 100% -> the max itself
        assert_eq!(knee_index(&pts, 1.0).map(|i| pts[i].0), Some(16));
    }

    #[test]
    fn knee_ignores_input_order_and_handles_degenerate_input() {
        let pts = [(16, 500.0), (4, 480.0), (1, 50.0)];
        assert_eq!(knee_index(&pts, 0.95).map(|i| pts[i].0), Some(4));
        assert_eq!(knee_index(&[], 0.95), None);
        assert_eq!(knee_index(&[(1, 0.0), (2, 0.0)], 0.95), None);
        // a flat curve's knee is its smallest size
        assert_eq!(knee_index(&[(2, 10.0), (1, 10.0)], 0.95), Some(1));
    }
}
