//! The names of a training run's snapshots (`network-snapshot-KKKKKK.pkl` officially; ours add
//! `.III`, the images past a whole kimg, so that the snapshots of short ticks never share a name) and
//! finding a run folder's latest one. Written by the trainer, read by every `--network RUNDIR`.

use std::path::{Path, PathBuf};

/// What a training run folder calls its snapshots.
pub const SNAPSHOT_PREFIX: &str = "network-snapshot-";

/// How far a run got, for file names: `KKKKKK` (the official name) at a whole kimg, `KKKKKK.III`
/// otherwise.
pub fn kimg_label(nimg: u64) -> String {
    match nimg % 1000 {
        0 => format!("{:06}", nimg / 1000),
        rest => format!("{:06}.{rest:03}", nimg / 1000),
    }
}

/// The snapshot file name for `nimg` images shown: `network-snapshot-KKKKKK[.III].safetensors`.
pub fn snapshot_name(nimg: u64) -> String {
    format!("{SNAPSHOT_PREFIX}{}.safetensors", kimg_label(nimg))
}

/// The images shown when a snapshot was taken, from its file name (ours, or an official `.pkl`).
pub fn parse_snapshot_name(name: &str) -> Option<u64> {
    let stem = name.strip_prefix(SNAPSHOT_PREFIX)?;
    let stem = stem
        .strip_suffix(".safetensors")
        .or_else(|| stem.strip_suffix(".pkl"))?;
    let (kimg, rest) = stem.split_once('.').unwrap_or((stem, "000"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // The official `{:06d}` pads to six digits at least; the part after the point is always three.
    if kimg.len() < 6
        || !digits(kimg)
        || rest.len() != 3
        || !digits(rest)
        || (stem.contains('.') && rest == "000")
    {
        return None;
    }
    kimg.parse::<u64>()
        .ok()?
        .checked_mul(1000)?
        .checked_add(rest.parse::<u64>().ok()?)
}

/// The snapshot of `dir` with the most images shown (the newest file on a tie, e.g. a `.pkl` and a
/// `.safetensors` of the same kimg), with that image count; None when there is none.
pub fn latest_snapshot(dir: &Path) -> std::io::Result<Option<(u64, PathBuf)>> {
    let mut best: Option<((u64, std::time::SystemTime), PathBuf)> = None;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(nimg) = name.to_str().and_then(parse_snapshot_name) else {
            continue;
        };
        if !entry.file_type()?.is_file() {
            continue;
        }
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH);
        if best.as_ref().is_none_or(|(k, _)| (nimg, modified) > *k) {
            best = Some(((nimg, modified), entry.path()));
        }
    }
    Ok(best.map(|((nimg, _), p)| (nimg, p)))
}
