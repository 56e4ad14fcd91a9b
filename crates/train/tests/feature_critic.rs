//! The feature discriminator (frozen VGG16, fixed random projections, trainable heads): its taps and
//! shapes, a backbone no gradient changes but that passes G's gradient to the image, R1 on the mixtures
//! against finite differences, exact resume, and snapshots that other commands read as ordinary models.

mod common;

use bestiary_nn::bias_act::Activation;
use bestiary_perceptual::Vgg16;
use bestiary_stylegan::{
    load_discriminator, load_generator, FeatureDiscriminator, FeatureDiscriminatorConfig, ModelFile,
};
use bestiary_train::checkpoint::STATE_FILE;
use bestiary_train::critic::{feature_r1, load_vgg16};
use bestiary_train::rng::Rng;
use bestiary_train::transfer::Pretrained;
use bestiary_train::Ad;
use bestiary_train::{AugMode, Critic, CriticKind, TrainOptions, Trainer};
use burn::backend::Flex;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use common::finite_diff::check_all;
use common::{classic_images, fingerprint, small_options, tiny_configs};
use std::sync::OnceLock;

type B = Flex;
type A = Ad<B>;

fn vgg() -> Vgg16<B> {
    static VGG: OnceLock<Vgg16<B>> = OnceLock::new();
    VGG.get_or_init(|| {
        load_vgg16(&Default::default(), &mut |m| eprintln!("{m}")).unwrap_or_else(|e| {
            panic!("the tests need the VGG16 weights (`bestiary assets fetch vgg16`): {e}")
        })
    })
    .clone()
}

fn host<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().unwrap()
}

fn normals(rng: &mut Rng, shape: [usize; 4]) -> Tensor<B, 4> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(rng.normals(n), shape), &Default::default())
}

#[test]
fn taps_are_the_deepest_consecutive_ones_that_heads_can_judge() {
    let names = |r| {
        FeatureDiscriminatorConfig::for_resolution(r, 3)
            .unwrap()
            .taps
    };
    assert_eq!(names(64), ["relu3_3", "relu4_3", "relu5_3"]);
    assert_eq!(names(32), ["relu2_2", "relu3_3", "relu4_3"]);
    assert_eq!(names(16), ["relu1_2", "relu2_2", "relu3_3"]);
    assert_eq!(names(8), ["relu1_2", "relu2_2"]);
    let err = FeatureDiscriminatorConfig::for_resolution(4, 3).unwrap_err();
    assert!(err.to_string().contains("at least 8x8"), "{err}");

    let ok = FeatureDiscriminatorConfig::for_resolution(16, 3).unwrap();
    let refused = |f: &dyn Fn(&mut FeatureDiscriminatorConfig)| {
        let mut c = ok.clone();
        f(&mut c);
        c.validate().unwrap_err().to_string()
    };
    assert!(refused(&|c| {
        c.taps = vec!["relu1_2".into(), "relu3_3".into()];
        c.proj_channels = vec![8, 8];
    })
    .contains("not from consecutive"));
    assert!(refused(&|c| c.backbone = "resnet50".into()).contains("only vgg16"));
    assert!(refused(&|c| c.img_channels = 4).contains("4 channels"));
    assert!(refused(&|c| c.proj_channels.pop().map(|_| ()).unwrap()).contains("one projection"));
    assert!(refused(&|c| c.taps[2] = "relu9_1".into()).contains("unknown VGG16 layer"));
    // A saved config reads back, with the default activation when a file has none.
    let mut v: serde_json::Value = serde_json::from_str(&ok.to_json()).unwrap();
    v.as_object_mut().unwrap().remove("activation");
    assert_eq!(FeatureDiscriminatorConfig::from_value(&v).unwrap(), ok);
}

#[test]
fn mixtures_and_logits_have_the_taps_shapes() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let vgg = vgg();
    let cfg = FeatureDiscriminatorConfig::for_resolution(16, 3).unwrap();
    let d = FeatureDiscriminator::<B>::new(&cfg, &dev).unwrap();
    let img = normals(&mut Rng::new(1), [2, 3, 16, 16]).clamp(-1.0, 1.0);
    let feats = d.backbone(&vgg, img.clone());
    let dims: Vec<[usize; 4]> = feats.iter().map(|f| f.dims()).collect();
    assert_eq!(dims, [[2, 64, 16, 16], [2, 128, 8, 8], [2, 256, 4, 4]]);
    let mixed = d.project(feats);
    let dims: Vec<[usize; 4]> = mixed.iter().map(|f| f.dims()).collect();
    assert_eq!(dims, [[2, 64, 16, 16], [2, 128, 8, 8], [2, 256, 4, 4]]);
    let logits = d.judge(mixed);
    assert_eq!(logits.dims(), [2, 1]);
    let v = host(logits.clone().reshape([2]));
    assert!(v.iter().all(|x| x.is_finite()) && v[0] != v[1], "{v:?}");
    assert_eq!(host(d.forward(&vgg, img).reshape([2])), v);

    // Grey images are judged as RGB with equal channels.
    let grey_cfg = FeatureDiscriminatorConfig {
        img_channels: 1,
        ..cfg.clone()
    };
    let grey = FeatureDiscriminator::<B>::new(&grey_cfg, &dev).unwrap();
    let x = normals(&mut Rng::new(2), [1, 1, 16, 16]);
    let as_rgb = d.backbone(&vgg, x.clone().repeat_dim(1, 3));
    let as_grey = grey.backbone(&vgg, x);
    assert_eq!(host(as_rgb[0].clone()), host(as_grey[0].clone()));

    // Only the heads are trainable: the projections are buffers.
    let d = FeatureDiscriminator::<A>::new(&cfg, &dev).unwrap();
    let heads: usize = d.heads.iter().map(|h| h.num_params()).sum();
    struct Trainable(usize);
    impl ModuleVisitor<A> for Trainable {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<A, D>>) {
            if p.is_require_grad() {
                self.0 += p.val().dims().iter().product::<usize>();
            }
        }
    }
    let mut t = Trainable(0);
    d.visit(&mut t);
    assert_eq!(t.0, heads);
    assert!(d.num_params() > heads);
}

/// G's loss reaches the image through VGG16 (a non-zero image gradient), and no gradient reaches VGG16's
/// weights, which stay bit for bit what the file holds after training steps.
#[test]
fn the_backbone_stays_frozen_and_passes_gradients_to_the_image() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let vgg = vgg();
    let lifted = vgg.lift::<A>();
    let cfg = FeatureDiscriminatorConfig::for_resolution(8, 3).unwrap();
    let d = FeatureDiscriminator::<A>::new(&cfg, &dev).unwrap();
    let img = Tensor::<A, 4>::from_inner(normals(&mut Rng::new(3), [2, 3, 8, 8])).require_grad();
    let loss = d.clone().no_grad().forward(&lifted, img.clone()).sum();
    let grads = loss.backward();
    let gx = img.grad(&grads).expect("the image gets a gradient");
    assert!(host(gx.abs().sum().reshape([1]))[0] > 0.0);
    for (i, w) in lifted.kernels().iter().enumerate() {
        assert!(w.grad(&grads).is_none(), "VGG16 conv {i} got a gradient");
    }

    let before: Vec<Vec<f32>> = vgg.kernels().into_iter().map(host).collect();
    let data = classic_images(8, 8);
    let (gcfg, dcfg) = tiny_configs(8, 0, 2);
    let mut t = Trainer::<B>::new(gcfg, dcfg, options(), &dev);
    t.use_features(vgg).unwrap();
    for _ in 0..3 {
        t.step(&data).unwrap();
    }
    let Critic::Features(f) = &t.d else {
        panic!("the trainer lost its feature discriminator")
    };
    let after: Vec<Vec<f32>> = f.vgg.kernels().into_iter().map(host).collect();
    let after_ad: Vec<Vec<f32>> = f
        .vgg_ad
        .kernels()
        .into_iter()
        .map(|w| host(w.inner()))
        .collect();
    assert!(
        before == after && before == after_ad,
        "VGG16 changed in training"
    );
}

fn options() -> TrainOptions {
    let mut o = small_options(4);
    o.g_reg_interval = 2;
    o.d_reg_interval = 3;
    o.r1_gamma = 0.5;
    o.aug = AugMode::Fixed;
    o.augment_p = 0.5;
    o.mirror = true;
    o.seed = 9;
    o
}

/// R1 on the mixtures is second order through the heads: its gradient w.r.t. every head tensor matches
/// central differences of the penalty (swish heads, smooth everywhere; see `regularizers.rs`).
#[test]
fn r1_on_the_mixtures_matches_finite_differences() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    <B as burn::tensor::backend::Backend>::seed(&dev, 21);
    let cfg = FeatureDiscriminatorConfig {
        proj_channels: vec![4, 8],
        head_channels_max: 8,
        activation: Activation::Swish,
        ..FeatureDiscriminatorConfig::for_resolution(8, 3).unwrap()
    };
    let d = FeatureDiscriminator::<A>::new(&cfg, &dev).unwrap();
    let mut rng = Rng::new(4);
    let mixed = vec![
        normals(&mut rng, [2, 4, 8, 8]),
        normals(&mut rng, [2, 8, 4, 4]),
    ];
    let pen = |d: &FeatureDiscriminator<A>| feature_r1(d, mixed.clone()).0.mean();
    let reached = check_all("R1 on mixtures", &d, &pen);
    // conv0, down, fc and out weights of both heads shape dD/dm.
    assert!(reached >= 6, "R1 reached only {reached} head tensors");
}

/// Straight through 6 steps, or 3, saved, reloaded (VGG16 from the cache) and 3 more: bit for bit the
/// same networks, moments and counters; the run really trained D's heads; and its snapshot is an
/// ordinary model file for the other commands.
#[test]
fn a_feature_run_resumes_exactly_and_snapshots_as_an_ordinary_model() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let data = classic_images(12, 8);
    let (gcfg, dcfg) = tiny_configs(8, 0, 2);
    let fresh = || {
        let mut t = Trainer::<B>::new(gcfg.clone(), dcfg.clone(), options(), &dev);
        t.use_features(vgg()).unwrap();
        t
    };
    let mut straight = fresh();
    for _ in 0..6 {
        straight.step(&data).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut first = fresh();
    for _ in 0..3 {
        first.step(&data).unwrap();
    }
    let snap = first.save(dir.path(), None).unwrap();
    drop(first);
    let (mut resumed, _) = Trainer::<B>::load_state(&dir.path().join(STATE_FILE), &dev).unwrap();
    assert_eq!(resumed.opts.critic, CriticKind::Vgg16);
    assert!(matches!(resumed.d, Critic::Features(_)));
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
    let untrained = fingerprint(&fresh()).0;
    let heads_moved = a
        .iter()
        .zip(&untrained)
        .any(|((n, x), (_, y))| n.starts_with("D.head") && x != y);
    assert!(heads_moved, "D's heads never trained");
    let ccm_kept = a
        .iter()
        .zip(&untrained)
        .filter(|((n, _), _)| n.starts_with("D.ccm") || n.starts_with("D.csm"))
        .all(|((_, x), (_, y))| x == y);
    assert!(ccm_kept, "the fixed projections moved");

    // The snapshot: G_ema for every --network command, a clear refusal where StyleGAN2's D is needed,
    // and a transfer start that gives D a fresh start.
    let model = ModelFile::load(&snap).unwrap();
    let (g, cfg) = load_generator::<B>(&model, &dev).unwrap();
    assert_eq!(cfg.img_resolution, 8);
    assert_eq!(g.img_resolution, 8);
    let err = load_discriminator::<B>(&model, &dev)
        .unwrap_err()
        .to_string();
    assert!(err.contains("feature discriminator"), "{err}");
    let p = Pretrained::read::<B>(model, 8, 3, 0, &dev).unwrap();
    assert!(p.d_cfg.is_none());
}

#[test]
fn the_feature_discriminator_refuses_labels_and_freeze_d() {
    let _g = common::RNG_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    let (gcfg, dcfg) = tiny_configs(8, 3, 2);
    let mut t = Trainer::<B>::new(gcfg, dcfg, options(), &dev);
    let err = t.use_features(vgg()).unwrap_err().to_string();
    assert!(err.contains("unconditional"), "{err}");
    let (gcfg, mut dcfg) = tiny_configs(8, 0, 2);
    dcfg.block_kwargs.freeze_layers = 1;
    let mut t = Trainer::<B>::new(gcfg, dcfg, options(), &dev);
    let err = t.use_features(vgg()).unwrap_err().to_string();
    assert!(err.contains("--freezed"), "{err}");
}
