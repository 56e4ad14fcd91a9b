//! Whole training steps: exact resume, a tiny run on a classic-engine dataset, stop requests and
//! non-finite losses.

mod common;

use bestiary_stylegan::sampling::z_for_seeds;
use bestiary_stylegan::{load_generator, ModelFile, NoiseMode, SynthesisOptions};
use bestiary_train::checkpoint::STATE_FILE;
use bestiary_train::run::Event;
use bestiary_train::{AugMode, TrainOptions, Trainer};
use burn::backend::Flex;
use common::{classic_images, fingerprint, small_options, tiny_configs};
use std::sync::atomic::AtomicBool;

type B = Flex;

fn resume_options() -> TrainOptions {
    let mut o = small_options(4);
    // Short intervals so that a few steps cover every phase, augmentation on.
    o.g_reg_interval = 2;
    o.d_reg_interval = 3;
    o.aug = AugMode::Fixed;
    o.augment_p = 0.5;
    o.mirror = true;
    o.seed = 42;
    o
}

#[test]
fn resume_continues_exactly() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let data = classic_images(12, 8);
    let (gcfg, dcfg) = tiny_configs(8, 0, 2);

    let mut straight = Trainer::<B>::new(gcfg.clone(), dcfg.clone(), resume_options(), &dev);
    for _ in 0..7 {
        straight.step(&data).unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let mut first = Trainer::<B>::new(gcfg, dcfg, resume_options(), &dev);
    for _ in 0..4 {
        first.step(&data).unwrap();
    }
    first.save(dir.path(), None).unwrap();
    drop(first);
    let (mut resumed, _) = Trainer::<B>::load_state(&dir.path().join(STATE_FILE), &dev).unwrap();
    assert_eq!(resumed.progress.batch_idx, 4);
    assert_eq!(resumed.progress.nimg, 16);
    for _ in 0..3 {
        resumed.step(&data).unwrap();
    }

    let (a, pa) = fingerprint(&straight);
    let (b, pb) = fingerprint(&resumed);
    assert_eq!(pa, pb, "counters differ");
    assert_eq!(a.len(), b.len());
    for ((na, va), (nb, vb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(va == vb, "{na} differs after resume");
    }
    // And the run really trained: G moved away from its initialisation.
    let fresh = Trainer::<B>::new(
        straight.g_cfg.clone(),
        straight.d_cfg.clone(),
        resume_options(),
        &dev,
    );
    assert_ne!(fingerprint(&fresh).0, a);
}

/// `compact_state`: no first moments (beta1 = 0 makes them redundant), second moments in bf16, so the
/// state shrinks by more than half of its optimizer part; a resume continues within that rounding; the
/// state also loads as a model file (G, D, G_ema) for every `--network` command.
#[test]
fn compact_state_is_small_resumes_within_rounding_and_reads_as_a_model_file() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let data = classic_images(12, 8);
    let (gcfg, dcfg) = tiny_configs(8, 0, 2);
    let mut opts = resume_options();
    opts.compact_state = true;

    let mut straight = Trainer::<B>::new(gcfg.clone(), dcfg.clone(), opts.clone(), &dev);
    for _ in 0..7 {
        straight.step(&data).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut first = Trainer::<B>::new(gcfg, dcfg, opts.clone(), &dev);
    for _ in 0..4 {
        first.step(&data).unwrap();
    }
    first.save(dir.path(), None).unwrap();
    let state = dir.path().join(STATE_FILE);
    let bytes = std::fs::read(&state).unwrap();
    let (tensors, _) = bestiary_weights::safetensors_io::read(&bytes).unwrap();
    assert!(
        !tensors
            .keys()
            .any(|k| k.starts_with("adam.") && k.ends_with(".m")),
        "first moments are not kept"
    );
    let v: Vec<_> = tensors
        .iter()
        .filter(|(k, _)| k.starts_with("adam."))
        .collect();
    assert!(
        !v.is_empty()
            && v.iter()
                .all(|(_, t)| t.dtype == bestiary_weights::DType::BF16)
    );
    let weights: usize = tensors
        .iter()
        .filter(|(k, _)| !k.starts_with("adam."))
        .map(|(_, t)| t.data.len() * 4)
        .sum();
    let moments: usize = v.iter().map(|(_, t)| t.data.len() * 2).sum();
    assert!(
        bytes.len() < weights + moments + 64 * 1024,
        "{} bytes for {weights} + {moments}",
        bytes.len()
    );

    // As a model file: the same G_ema as the trainer's.
    let model = ModelFile::load(&state).unwrap();
    let (g_ema, _) = load_generator::<B>(&model, &dev).unwrap();
    for ((na, (_, a)), (nb, (_, b))) in g_ema
        .state_dict()
        .iter()
        .zip(first.g_ema.state_dict().iter())
    {
        assert_eq!(na, nb);
        assert!(
            a == b,
            "G_ema.{na} differs when read from the training state"
        );
    }

    drop(first);
    let (mut resumed, _) = Trainer::<B>::load_state(&state, &dev).unwrap();
    assert!(resumed.opts.compact_state);
    for _ in 0..3 {
        resumed.step(&data).unwrap();
    }
    // bf16 keeps 8 significant bits of each v: a step's scale moves by at most ~0.4%, so after 3 steps
    // no parameter is further than 1% of the learning rate per step from the straight run.
    let tol = 0.01 * opts.lrate_g * 3.0;
    for (key, a, b) in [
        ("G", straight.g.state_dict(), resumed.g.state_dict()),
        ("D", straight.d.state_dict(), resumed.d.state_dict()),
    ] {
        for ((name, (_, x)), (_, (_, y))) in a.iter().zip(b.iter()) {
            let d = x
                .iter()
                .zip(y)
                .fold(0f64, |m, (p, q)| m.max((*p as f64 - *q as f64).abs()));
            assert!(
                d <= tol,
                "{key}.{name} is {d} from the straight run (tolerance {tol})"
            );
        }
    }
    assert_eq!(
        serde_json::to_value(&straight.progress.nimg).unwrap(),
        serde_json::to_value(&resumed.progress.nimg).unwrap()
    );
}

#[test]
fn tiny_run_trains_snapshots_and_generates() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let data = classic_images(32, 16);
    let (gcfg, dcfg) = tiny_configs(16, 0, 4);
    let mut o = small_options(8);
    o.total_kimg = 0.192; // 24 steps
    o.tick_kimg = 0.048;
    o.snap_ticks = 2;
    o.ada_kimg = 0.5; // fast ADA so that p visibly moves in a short run
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::<B>::new(gcfg, dcfg, o, &dev);
    let mut ticks = 0;
    let mut snaps = Vec::new();
    let summary = t
        .run(
            &data,
            dir.path(),
            None,
            &AtomicBool::new(false),
            &mut |e| match e {
                Event::Tick(_) => ticks += 1,
                Event::Snapshot(p) => snaps.push(p.to_path_buf()),
                Event::Step { .. } => {}
            },
        )
        .unwrap();
    assert_eq!(ticks, 4);
    assert_eq!(snaps.len(), 2);
    assert!(!summary.interrupted);
    assert!((summary.kimg - 0.192).abs() < 1e-9);

    let log = std::fs::read_to_string(dir.path().join("log.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    for key in [
        "kimg",
        "sec_per_kimg",
        "loss_g",
        "loss_d",
        "augment_p",
        "peak_rss_mb",
    ] {
        assert!(
            rows.iter().all(|r| r[key].is_number()),
            "{key} missing or not finite in {log}"
        );
    }
    // The lazy regularizers run every 4 (G) and 16 (D) steps: null in ticks without one.
    for key in ["r1", "pl"] {
        assert!(
            rows.iter()
                .any(|r| r[key].as_f64().is_some_and(|v| v > 0.0)),
            "{key} never logged: {log}"
        );
    }
    // Losses move, D learns to tell the squares from noise, and ADA raises p.
    let first = &rows[0];
    let last = &rows[3];
    assert_ne!(first["loss_d"], last["loss_d"]);
    assert!(
        last["loss_d"].as_f64().unwrap() < 2.0 * std::f64::consts::LN_2 + 0.2,
        "{log}"
    );
    assert!(last["augment_p"].as_f64().unwrap() > 0.0, "{log}");
    for f in [
        "reals.png",
        "fakes-init.png",
        "fakes-000000.096.png",
        "fakes-000000.192.png",
        STATE_FILE,
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }

    // The snapshot is an ordinary model file: it loads and generates a finite, non-flat image.
    let model = ModelFile::load(snaps.last().unwrap()).unwrap();
    assert!(model.networks.contains_key("G") && model.networks.contains_key("D"));
    let (g, _) = load_generator::<B>(&model, &dev).unwrap();
    let z = z_for_seeds::<B>(&[0, 1], 8, &dev);
    let img = g.forward(
        z,
        None,
        1.0,
        None,
        &SynthesisOptions {
            noise_mode: NoiseMode::Const,
            ..Default::default()
        },
    );
    let v = img.into_data().to_vec::<f32>().unwrap();
    assert!(v.iter().all(|x| x.is_finite()));
    let (lo, hi) = v
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(hi - lo > 0.05, "flat image {lo}..{hi}");
}

#[test]
fn stop_request_saves_and_resume_finishes() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let data = classic_images(12, 8);
    let (gcfg, dcfg) = tiny_configs(8, 0, 2);
    let mut o = resume_options();
    o.total_kimg = 0.04; // 10 steps
    o.tick_kimg = 1.0;
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let mut t = Trainer::<B>::new(gcfg, dcfg, o, &dev);
    let mut steps = 0;
    let s = t
        .run(&data, dir.path(), None, &stop, &mut |e| {
            if let Event::Step { .. } = e {
                steps += 1;
                if steps == 3 {
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            }
        })
        .unwrap();
    assert!(s.interrupted);
    assert_eq!(t.progress.batch_idx, 3);
    assert!(s.snapshot.is_some());
    let (mut r, _) = Trainer::<B>::load_state(&dir.path().join(STATE_FILE), &dev).unwrap();
    assert_eq!(r.progress.nimg, 12);
    let s = r
        .run(
            &data,
            dir.path(),
            None,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap();
    assert!(!s.interrupted);
    assert_eq!(r.progress.nimg, 40);
}

#[test]
fn non_finite_loss_stops_with_a_clear_error_and_keeps_the_snapshot() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let data = classic_images(12, 8);
    let (gcfg, dcfg) = tiny_configs(8, 0, 2);
    let mut o = resume_options();
    o.total_kimg = 0.008;
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::<B>::new(gcfg, dcfg, o, &dev);
    let s = t
        .run(
            &data,
            dir.path(),
            None,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap();
    let snap = s.snapshot.unwrap();
    let before = std::fs::read(&snap).unwrap();
    // An absurd learning rate blows the weights up within a step or two.
    t.opts.lrate_d = 1e30;
    t.opts.lrate_g = 1e30;
    t.opts.total_kimg = 1.0;
    let err = t
        .run(
            &data,
            dir.path(),
            None,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("became") && msg.contains("last snapshot is kept"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&snap).unwrap(), before);
    ModelFile::load(&snap).unwrap();
}
