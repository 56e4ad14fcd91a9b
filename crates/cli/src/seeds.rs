//! Seed lists as the official scripts take them: "0-3,7,10-12" (ranges inclusive).

use anyhow::{bail, Result};

/// Most seeds one command accepts; guards against "0-4294967295" filling memory.
pub const MAX_SEEDS: usize = 1_000_000;

pub fn parse_seeds(s: &str) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            bail!("empty entry in seed list '{s}'");
        }
        let num = |t: &str| -> Result<u32> {
            t.trim().parse::<u32>().map_err(|_| anyhow::anyhow!("'{t}' is not a seed (seeds are 0..=4294967295)"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
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
}
