//! Seed lists as the official scripts take them: "0-3,7,10-12" (ranges inclusive).

use anyhow::{bail, Result};

/// Most seeds one command accepts; guards against "0-4294967295" filling memory.
pub const MAX_SEEDS: usize = 1_000_000;

const RANGE: &str = "seeds are whole numbers 0..=4294967295, as in 0-3,7";

/// One seed of the list `s`, with an error that says what is wrong with it.
fn seed(t: &str, s: &str) -> Result<u32> {
    let t = t.trim();
    if let Ok(v) = t.parse::<u32>() {
        return Ok(v);
    }
    if t.starts_with('-') {
        bail!("negative seed '{t}' in seed list '{s}': {RANGE}");
    }
    if t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty() {
        bail!("seed {t} in seed list '{s}' is too large: {RANGE}");
    }
    if t.parse::<f64>().is_ok() {
        bail!("seed '{t}' in seed list '{s}' is not a whole number: {RANGE}");
    }
    bail!("'{t}' in seed list '{s}' is not a seed: {RANGE}")
}

pub fn parse_seeds(s: &str) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            bail!("empty entry in seed list '{s}'");
        }
        // A leading '-' is a negative number, not a range with a missing start.
        let (lo, hi) = match part
            .get(1..)
            .and_then(|rest| rest.split_once('-'))
            .map(|(a, b)| (&part[..1 + a.len()], b))
        {
            Some((_, b)) if b.trim().is_empty() => {
                bail!("seed range '{part}' in seed list '{s}' has no end: {RANGE}")
            }
            Some((a, b)) => (seed(a, s)?, seed(b, s)?),
            None => (seed(part, s)?, seed(part, s)?),
        };
        if lo > hi {
            bail!("seed range '{part}' runs backwards");
        }
        if out.len() + (hi - lo) as usize + 1 > MAX_SEEDS {
            bail!("too many seeds in '{s}' (at most {MAX_SEEDS})");
        }
        out.extend(lo..=hi);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_seeds;

    #[test]
    fn ranges_and_lists() {
        assert_eq!(parse_seeds("0-3,7").unwrap(), [0, 1, 2, 3, 7]);
        assert_eq!(parse_seeds("42").unwrap(), [42]);
        assert_eq!(parse_seeds("4294967295").unwrap(), [u32::MAX]);
        for bad in ["", "a", "3-1", "1,,2", "-1", "4294967296", "0-4294967295"] {
            assert!(parse_seeds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let e = |s: &str| parse_seeds(s).unwrap_err().to_string();
        assert!(e("-1").starts_with("negative seed '-1'"), "{}", e("-1"));
        assert!(e("3,-7").starts_with("negative seed '-7'"), "{}", e("3,-7"));
        assert!(e("2--5").starts_with("negative seed '-5'"), "{}", e("2--5"));
        assert!(
            e("4294967296").contains("is too large"),
            "{}",
            e("4294967296")
        );
        assert!(e("1.5").contains("is not a whole number"), "{}", e("1.5"));
        assert!(e("3-").contains("has no end"), "{}", e("3-"));
        assert!(
            e("cat").starts_with("'cat' in seed list 'cat' is not a seed"),
            "{}",
            e("cat")
        );
        for s in ["-1", "cat", "1.5", "3-"] {
            assert!(e(s).contains("0..=4294967295"), "{}", e(s));
            assert!(!e(s).contains("''"), "{}", e(s));
        }
    }
}
