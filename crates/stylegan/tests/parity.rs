//! Parity with the official StyleGAN2-ADA PyTorch code, on fixtures it produced
//! (tests/fixtures, see its README.md): primitives, mapping, synthesis, discriminator,
//! weight names and configs.

use std::path::{Path, PathBuf};

use bestiary_nn::{
    bias_act, downsample2d, minibatch_std, modulated_conv2d, normalize_2nd_moment, upsample2d,
    Activation, Fir, ModConv, ModConvArgs,
};
use bestiary_stylegan::{
    to_uint8_nhwc, Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, NoiseMode,
    StateError, SynthesisOptions, WeightMap,
};
use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

type B = Flex;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Reads a safetensors file into name -> (shape, f32 data); F64 and U8 are converted.
fn read_st(path: &Path) -> WeightMap {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut m = WeightMap::new();
    for (name, v) in st.tensors() {
        let d = v.data();
        let data: Vec<f32> = match v.dtype() {
            Dtype::F32 => d
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            Dtype::F64 => d
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()) as f32)
                .collect(),
            Dtype::U8 => d.iter().map(|&b| b as f32).collect(),
            Dtype::F16 => d
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => panic!("{name}: unsupported dtype {other:?}"),
        };
        m.insert(name, (v.shape().to_vec(), data));
    }
    m
}

struct Case {
    name: &'static str,
    cfg: serde_json::Value,
    g: WeightMap,
    d: WeightMap,
    io: WeightMap,
    layers: WeightMap,
}

fn load_case(name: &'static str) -> Case {
    let dir = fixtures().join(name);
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    Case {
        name,
        cfg,
        g: read_st(&dir.join("G.safetensors")),
        d: read_st(&dir.join("D.safetensors")),
        io: read_st(&dir.join("io.safetensors")),
        layers: read_st(&dir.join("layers.safetensors")),
    }
}

fn get(m: &WeightMap, name: &str) -> (Vec<usize>, Vec<f32>) {
    m.get(name)
        .unwrap_or_else(|| panic!("fixture tensor `{name}` missing"))
        .clone()
}

fn t<const D: usize>(m: &WeightMap, name: &str) -> Tensor<B, D> {
    let (shape, data) = get(m, name);
    assert_eq!(shape.len(), D, "{name}: rank");
    Tensor::from_data(TensorData::new(data, shape), &Default::default())
}

fn rows<const D: usize>(x: Tensor<B, D>, n: usize) -> Tensor<B, D> {
    x.narrow(0, 0, n)
}

/// Max absolute difference, after checking shapes.
fn max_abs<const D: usize>(got: Tensor<B, D>, m: &WeightMap, name: &str) -> f32 {
    let (shape, want) = get(m, name);
    assert_eq!(got.dims().to_vec(), shape, "{name}: shape");
    let got = got.into_data().to_vec::<f32>().unwrap();
    got.iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

fn check<const D: usize>(got: Tensor<B, D>, m: &WeightMap, name: &str, tol: f32) -> f32 {
    let e = max_abs(got, m, name);
    assert!(e <= tol, "{name}: max abs error {e:e} > {tol:e}");
    e
}

fn per_sample() -> SynthesisOptions {
    SynthesisOptions {
        noise_mode: NoiseMode::Const,
        modconv: ModConv::ScaleActivations,
    }
}

#[test]
fn primitives_match_official() {
    let l = load_case("uncond16").layers;
    let io = read_st(&fixtures().join("uncond16/io.safetensors"));
    let f = Fir::default_stylegan();
    // The prepared filter equals the official resample_filter buffer.
    let (fs, fd) = f.buffer();
    assert_eq!((fs, fd.clone()), get(&l, "filter"));

    check(upsample2d(t::<4>(&l, "up.x"), &f, 2), &l, "up.y", 1e-6);
    check(
        downsample2d(t::<4>(&l, "down.x"), &f, 2),
        &l,
        "down.y",
        1e-6,
    );

    let x = t::<4>(&l, "modconv.x");
    let w = t::<4>(&l, "modconv.weight");
    let s = t::<2>(&l, "modconv.styles");
    let noise: Tensor<B, 4> = t::<2>(&l, "modconv.noise").reshape([1, 1, 8, 8]);
    for mode in [ModConv::ScaleActivations, ModConv::Fused] {
        let args = |up: usize, demod: bool| ModConvArgs {
            up,
            down: 1,
            padding: 1,
            resample_filter: &f,
            demodulate: demod,
            flip_weight: up == 1,
            mode,
        };
        let id = Fir::identity();
        let torgb = ModConvArgs {
            padding: 0,
            demodulate: false,
            resample_filter: &id,
            ..args(1, false)
        };
        let errs = [
            check(
                modulated_conv2d(x.clone(), w.clone(), s.clone(), None, args(1, true)),
                &l,
                "modconv.up1.demod.y",
                1e-5,
            ),
            check(
                modulated_conv2d(x.clone(), w.clone(), s.clone(), None, args(1, false)),
                &l,
                "modconv.up1.nodemod.y",
                5e-5,
            ),
            check(
                modulated_conv2d(
                    x.clone(),
                    w.clone(),
                    s.clone(),
                    Some(noise.clone()),
                    args(1, true),
                ),
                &l,
                "modconv.up1.demod_noise.y",
                1e-5,
            ),
            check(
                modulated_conv2d(x.clone(), w.clone(), s.clone(), None, args(2, true)),
                &l,
                "modconv.up2.demod.y",
                1e-5,
            ),
            check(
                modulated_conv2d(x.clone(), w.clone(), s.clone(), None, args(2, false)),
                &l,
                "modconv.up2.nodemod.y",
                5e-5,
            ),
            check(
                modulated_conv2d(
                    x.clone(),
                    t::<4>(&l, "modconv.torgb_weight"),
                    t::<2>(&l, "modconv.torgb_styles"),
                    None,
                    torgb,
                ),
                &l,
                "modconv.torgb.y",
                1e-5,
            ),
        ];
        eprintln!("modulated_conv2d {mode:?}: max abs errors {errs:?}");
    }

    let cx = t::<4>(&l, "conv.x");
    use bestiary_nn::{conv2d_resample, Resample};
    check(
        conv2d_resample(
            cx.clone(),
            t::<4>(&l, "conv.weight3"),
            &f,
            Resample {
                down: 2,
                padding: [1; 4],
                ..Default::default()
            },
        ),
        &l,
        "conv.down2_3x3.y",
        1e-5,
    );
    check(
        conv2d_resample(
            cx.clone(),
            t::<4>(&l, "conv.weight1"),
            &f,
            Resample {
                down: 2,
                ..Default::default()
            },
        ),
        &l,
        "conv.down2_1x1.y",
        1e-5,
    );
    let cx8 = cx.slice([0..2, 0..8, 0..8, 0..8]);
    check(
        conv2d_resample(
            cx8,
            t::<4>(&l, "conv.weight1"),
            &f,
            Resample {
                up: 2,
                flip_weight: false,
                ..Default::default()
            },
        ),
        &l,
        "conv.up2_1x1.y",
        1e-5,
    );

    let bx = t::<4>(&l, "bias_act.x");
    let bb = t::<1>(&l, "bias_act.b");
    let sq2 = std::f64::consts::SQRT_2;
    check(
        bias_act(
            bx.clone(),
            Some(bb.clone()),
            Activation::Lrelu,
            Some(sq2),
            Some(1.5),
        ),
        &l,
        "bias_act.lrelu_clamp.y",
        1e-6,
    );
    check(
        bias_act(bx.clone(), Some(bb.clone()), Activation::Lrelu, None, None),
        &l,
        "bias_act.lrelu.y",
        1e-6,
    );
    check(
        bias_act(bx, Some(bb), Activation::Linear, None, Some(1.5)),
        &l,
        "bias_act.linear_clamp.y",
        1e-6,
    );

    check(
        minibatch_std(t::<4>(&l, "mbstd.x"), Some(4), 1),
        &l,
        "mbstd.y",
        1e-6,
    );
    check(
        minibatch_std(t::<4>(&l, "mbstd.x2"), Some(4), 2),
        &l,
        "mbstd.y2",
        1e-6,
    );
    check(
        normalize_2nd_moment(t::<2>(&io, "z")),
        &l,
        "normalize_2nd_moment.y",
        1e-6,
    );
}

fn c_of(case: &Case, name: &str) -> Option<Tensor<B, 2>> {
    case.io.contains_key(name).then(|| t::<2>(&case.io, name))
}

fn run_generator(case: &Case) {
    let dev = Default::default();
    let gcfg = GeneratorConfig::from_value(&case.cfg["G"]).unwrap();
    assert_eq!(gcfg.num_ws() as u64, case.cfg["num_ws"].as_u64().unwrap());
    let g = Generator::<B>::from_weights(&gcfg, &case.g, &dev).unwrap();
    assert_eq!(g.num_ws(), gcfg.num_ws());
    let io = &case.io;
    let l = &case.layers;
    let z = t::<2>(io, "z");
    let c = c_of(case, "c");
    let psi = case.cfg["trunc_psi"].as_f64().unwrap();
    let cutoff = case.cfg["trunc_cutoff"].as_u64().map(|v| v as usize);

    // Mapping, layer by layer, then the whole network.
    let mut x = normalize_2nd_moment(rows(z.clone(), 2));
    if let (Some(embed), Some(c)) = (&g.mapping.embed, &c) {
        let y = embed.forward(rows(c.clone(), 2));
        check(y.clone(), l, "G.mapping.embed.out", 1e-5);
        x = Tensor::cat(vec![x, normalize_2nd_moment(y)], 1);
    }
    for (i, fc) in g.mapping.fcs.iter().enumerate() {
        x = fc.forward(x);
        let name = format!("G.mapping.fc{i}.out");
        if l.contains_key(&name) {
            check(x.clone(), l, &name, 1e-4);
        }
    }
    let ws = g.mapping(z.clone(), c.clone(), 1.0, None);
    let e_ws = check(ws.clone(), io, "ws", 1e-5);
    let ws_t = g.mapping(z.clone(), c.clone(), psi, cutoff);
    let e_wst = check(ws_t.clone(), io, "ws_trunc", 1e-5);

    // Synthesis, block by block on the reference ws.
    let ws_ref = t::<3>(io, "ws");
    let opts = per_sample();
    let (mut bx, mut bimg) = (None, None);
    let mut w_idx = 0;
    for b in &g.synthesis.blocks {
        let k = b.num_conv + b.num_torgb;
        let bws = rows(ws_ref.clone(), 2).narrow(1, w_idx, k);
        w_idx += b.num_conv;
        let (nx, nimg) = b.forward(bx, bimg, bws, &opts);
        let r = b.resolution;
        for (name, v, n) in [
            (format!("G.synthesis.b{r}.x"), nx.clone(), 2),
            (format!("G.synthesis.b{r}.x[0:1]"), nx.clone(), 1),
        ] {
            if l.contains_key(&name) {
                check(rows(v, n), l, &name, 1e-4);
            }
        }
        if let Some(i) = &nimg {
            let name = format!("G.synthesis.b{r}.img");
            if l.contains_key(&name) {
                check(i.clone(), l, &name, 1e-4);
            }
        }
        bx = Some(nx);
        bimg = nimg;
    }

    // Whole images, both modulated-conv strategies and all noise modes.
    let mut report = vec![];
    for modconv in [ModConv::ScaleActivations, ModConv::Fused] {
        let o = |noise_mode| SynthesisOptions {
            noise_mode,
            modconv,
        };
        let e1 = check(
            g.synthesis(ws_ref.clone(), &o(NoiseMode::Const)),
            io,
            "img",
            2e-4,
        );
        let e2 = check(
            g.synthesis(t::<3>(io, "ws_trunc"), &o(NoiseMode::Const)),
            io,
            "img_trunc",
            2e-4,
        );
        let e3 = check(
            g.synthesis(ws_ref.clone(), &o(NoiseMode::None)),
            io,
            "img_none",
            2e-4,
        );
        report.push(format!(
            "{modconv:?}: img {e1:.2e} img_trunc {e2:.2e} img_none {e3:.2e}"
        ));
    }
    // End to end from z, converted to 8 bits exactly as the official scripts.
    let img = g.forward(z, c, psi, cutoff, &opts);
    let u8s = to_uint8_nhwc(img);
    let (shape, want) = get(io, "img_u8");
    assert_eq!(u8s.len(), shape.iter().product::<usize>());
    let mut max_d = 0;
    let mut n_diff = 0;
    for (a, b) in u8s.iter().zip(&want) {
        let d = (*a as i32 - *b as i32).abs();
        max_d = max_d.max(d);
        n_diff += (d != 0) as usize;
    }
    assert!(max_d <= 1, "{}: uint8 images differ by {max_d}", case.name);
    eprintln!(
        "[{}] G parity: ws {e_ws:.2e}, ws_trunc {e_wst:.2e}; {}; uint8 max diff {max_d} ({n_diff}/{} values differ)",
        case.name,
        report.join("; "),
        u8s.len()
    );

    // Random noise: right shape, differs from the const-noise image and between calls.
    let ro = SynthesisOptions {
        noise_mode: NoiseMode::Random,
        modconv: ModConv::ScaleActivations,
    };
    let r1 = g.synthesis(ws_ref.clone(), &ro);
    let r2 = g.synthesis(ws_ref, &ro);
    let d12 = (r1.clone() - r2).abs().max().into_scalar();
    let dc = max_abs(r1, io, "img");
    assert!(
        d12 > 1e-3 && dc > 1e-3,
        "random noise has no effect ({d12}, {dc})"
    );
}

fn run_discriminator(case: &Case) {
    let dev = Default::default();
    let dcfg = DiscriminatorConfig::from_value(&case.cfg["D"]).unwrap();
    let d = Discriminator::<B>::from_weights(&dcfg, &case.d, &dev).unwrap();
    let io = &case.io;
    let l = &case.layers;
    let img = t::<4>(io, "d_in");
    let dc = c_of(case, "d_c");

    // Block by block.
    let (mut x, mut im) = (None, Some(img.clone()));
    for b in &d.blocks {
        let (nx, ni) = b.forward(x, im);
        let r = b.resolution;
        for (name, n) in [
            (format!("D.b{r}.x"), 8),
            (format!("D.b{r}.x[0:2]"), 2),
            (format!("D.b{r}.x[0:1]"), 1),
        ] {
            if l.contains_key(&name) {
                check(rows(nx.clone(), n), l, &name, 1e-4);
            }
        }
        // The downsampled image of the skip architecture.
        for (name, n) in [(format!("D.b{r}.img"), 8), (format!("D.b{r}.img[0:2]"), 2)] {
            if l.contains_key(&name) {
                check(
                    rows(ni.clone().expect("skip D passes the image on"), n),
                    l,
                    &name,
                    1e-5,
                );
            }
        }
        x = Some(nx);
        im = ni;
    }
    if let (Some(m), Some(dc)) = (&d.mapping, &dc) {
        check(
            m.forward_w(None, Some(dc.clone())),
            l,
            "D.mapping.out",
            1e-4,
        );
    }
    // The epilogue's input: the last block's x, plus FromRGB of its image for the skip architecture.
    let mut x8 = t::<4>(l, "D.b8.x");
    if let Some(fromrgb) = &d.b4.fromrgb {
        x8 = x8 + fromrgb.forward(t::<4>(l, "D.b8.img"), 1.0);
    }
    check(
        minibatch_std(x8, d.b4.mbstd_group_size, d.b4.mbstd_num_channels),
        l,
        "D.b4.mbstd.out",
        1e-5,
    );

    let logits = d.forward(img, dc);
    let (shape, want) = get(io, "logits");
    assert_eq!(logits.dims().to_vec(), shape);
    let got = logits.into_data().to_vec::<f32>().unwrap();
    let mut max_rel = 0f32;
    let mut max_abs_e = 0f32;
    for (a, b) in got.iter().zip(&want) {
        let e = (a - b).abs();
        max_abs_e = max_abs_e.max(e);
        max_rel = max_rel.max(e / b.abs().max(1e-3));
    }
    assert!(
        max_rel <= 1e-4,
        "{}: logits relative error {max_rel:e} (got {got:?}, want {want:?})",
        case.name
    );
    eprintln!(
        "[{}] D parity: logits max rel {max_rel:.2e}, max abs {max_abs_e:.2e}",
        case.name
    );
}

/// Export gives back exactly the official state_dict: same names, shapes and values.
fn check_roundtrip(case: &Case) {
    let dev = Default::default();
    let g = Generator::<B>::from_weights(
        &GeneratorConfig::from_value(&case.cfg["G"]).unwrap(),
        &case.g,
        &dev,
    )
    .unwrap();
    assert_eq!(
        g.state_dict(),
        case.g,
        "{}: G export differs from the official state_dict",
        case.name
    );
    let d = Discriminator::<B>::from_weights(
        &DiscriminatorConfig::from_value(&case.cfg["D"]).unwrap(),
        &case.d,
        &dev,
    )
    .unwrap();
    assert_eq!(
        d.state_dict(),
        case.d,
        "{}: D export differs from the official state_dict",
        case.name
    );
}

#[test]
fn uncond16_matches_official() {
    let case = load_case("uncond16");
    check_roundtrip(&case);
    run_generator(&case);
    run_discriminator(&case);
    // Layer-level hooks stored only for this case.
    let dev = Default::default();
    let l = &case.layers;
    let g = Generator::<B>::from_weights(
        &GeneratorConfig::from_value(&case.cfg["G"]).unwrap(),
        &case.g,
        &dev,
    )
    .unwrap();
    let ws: Tensor<B, 3> = rows(t::<3>(&case.io, "ws"), 2);
    let w = |i: usize| -> Tensor<B, 2> { ws.clone().narrow(1, i, 1).reshape([2, 32]) };
    let b8 = &g.synthesis.blocks[1];
    let y =
        b8.conv0
            .as_ref()
            .unwrap()
            .forward(t::<4>(l, "G.synthesis.b4.x"), w(1), &per_sample(), 1.0);
    check(y, l, "G.synthesis.b8.conv0.out", 1e-4);
    let y = b8
        .torgb
        .as_ref()
        .unwrap()
        .forward(t::<4>(l, "G.synthesis.b8.x"), w(3), &per_sample());
    check(y, l, "G.synthesis.b8.torgb.out", 1e-4);
    let d = Discriminator::<B>::from_weights(
        &DiscriminatorConfig::from_value(&case.cfg["D"]).unwrap(),
        &case.d,
        &dev,
    )
    .unwrap();
    let din = t::<4>(&case.io, "d_in");
    let b16 = &d.blocks[0];
    let fr = b16.fromrgb.as_ref().unwrap().forward(din, 1.0);
    check(rows(fr.clone(), 2), l, "D.b16.fromrgb.out[0:2]", 1e-5);
    let half = std::f64::consts::FRAC_1_SQRT_2;
    check(
        rows(b16.skip.as_ref().unwrap().forward(fr.clone(), half), 2),
        l,
        "D.b16.skip.out[0:2]",
        1e-5,
    );
    let c0 = b16.conv0.forward(fr, 1.0);
    check(rows(c0.clone(), 2), l, "D.b16.conv0.out[0:2]", 1e-5);
    check(
        rows(b16.conv1.forward(c0, half), 2),
        l,
        "D.b16.conv1.out[0:2]",
        1e-5,
    );
    let e = &d.b4;
    let c = e.conv.forward(t::<4>(l, "D.b4.mbstd.out"), 1.0);
    check(c.clone(), l, "D.b4.conv.out", 1e-4);
    let fc = e.fc.forward(c.reshape([8, 32 * 16]));
    check(fc.clone(), l, "D.b4.fc.out", 1e-4);
    check(e.out.forward(fc), l, "D.b4.out.out", 1e-4);
}

#[test]
fn cond32_matches_official() {
    let case = load_case("cond32");
    check_roundtrip(&case);
    run_generator(&case);
    run_discriminator(&case);
}

#[test]
fn rgba16_matches_official() {
    let case = load_case("rgba16");
    check_roundtrip(&case);
    run_generator(&case);
    run_discriminator(&case);
}

/// Networks whose `resample_filter` buffers are not the default (2D asymmetric, odd, non-square, 8-tap 1D,
/// box) while their kwargs name [1,3,3,1]: the official networks resample with the stored buffers, so must we
/// (images, layer outputs and logits within the tolerances of the other cases), and export them unchanged.
#[test]
fn filter16_stored_filters_match_official() {
    let case = load_case("filter16");
    check_roundtrip(&case);
    run_generator(&case);
    run_discriminator(&case);
}

/// As `filter16` for the other architectures: generator resnet (its 1x1 upsampling skip layers), discriminator
/// skip (the image downsampled between blocks, a FromRGB per block).
#[test]
fn filter16alt_stored_filters_match_official() {
    let case = load_case("filter16alt");
    check_roundtrip(&case);
    run_generator(&case);
    run_discriminator(&case);
}

#[test]
fn resample_filter_buffers_load_as_stored() {
    let case = load_case("filter16");
    let dev = Default::default();
    let gcfg = GeneratorConfig::from_value(&case.cfg["G"]).unwrap();
    let g = Generator::<B>::from_weights(&gcfg, &case.g, &dev).unwrap();
    let b8 = &g.synthesis.blocks[1];
    // [8] stays a separable 1D filter, [2, 3] a 2D one, [3, 3] = setup_filter([1,2,1]) is found separable.
    let (shape, _) = get(&case.g, "synthesis.b8.resample_filter");
    assert_eq!((shape, b8.resample_filter.buffer().0), (vec![8], vec![8]));
    let conv0 = &b8.conv0.as_ref().unwrap().resample_filter;
    assert_eq!(
        (conv0.fh, conv0.fw, conv0.separable.is_some()),
        (2, 3, false)
    );
    let c16 = &g.synthesis.blocks[2]
        .conv0
        .as_ref()
        .unwrap()
        .resample_filter;
    assert_eq!(c16.separable.as_deref(), Some(&[0.25f32, 0.5, 0.25][..]));
    // The default buffer is exactly the default filter (so default networks keep their fast path and pixels).
    let u = load_case("uncond16");
    let ug = Generator::<B>::from_weights(
        &GeneratorConfig::from_value(&u.cfg["G"]).unwrap(),
        &u.g,
        &dev,
    )
    .unwrap();
    assert_eq!(
        ug.synthesis.blocks[1].resample_filter,
        Fir::default_stylegan()
    );

    // Without the buffers (a state_dict that left them out) the config's filter is used: other pixels.
    let mut bare = case.g.clone();
    bare.retain(|k, _| !k.ends_with("resample_filter"));
    let g2 = Generator::<B>::from_weights(&gcfg, &bare, &dev).unwrap();
    assert_eq!(
        g2.synthesis.blocks[1].resample_filter,
        Fir::default_stylegan()
    );
    let diff = max_abs(
        g2.synthesis(t::<3>(&case.io, "ws"), &per_sample()),
        &case.io,
        "img",
    );
    assert!(diff > 0.1, "the stored filters make no difference ({diff})");
    eprintln!("[filter16] the config's filter instead of the stored ones moves the image by up to {diff:.3} ({:.0}/255)", diff * 127.5);

    // A buffer that is no filter is refused, naming it.
    for (shape, data) in [
        (vec![2, 2, 2], vec![0.125f32; 8]),
        (vec![2], vec![0.5, f32::NAN]),
        (vec![0], vec![]),
    ] {
        let mut bad = case.g.clone();
        bad.insert("synthesis.b8.conv0.resample_filter".into(), (shape, data));
        let e = Generator::<B>::from_weights(&gcfg, &bad, &dev).unwrap_err();
        assert!(matches!(e, StateError::Invalid { .. }), "{e}");
        assert!(
            e.to_string().contains("synthesis.b8.conv0.resample_filter"),
            "{e}"
        );
    }
}

#[test]
fn loading_rejects_mismatched_weights() {
    let case = load_case("uncond16");
    let dev = Default::default();
    let gcfg = GeneratorConfig::from_value(&case.cfg["G"]).unwrap();
    let mut missing = case.g.clone();
    missing.remove("synthesis.b8.conv1.noise_const");
    let e = Generator::<B>::from_weights(&gcfg, &missing, &dev).unwrap_err();
    assert_eq!(
        e,
        StateError::Missing("synthesis.b8.conv1.noise_const".into())
    );
    // A config with more channels than the weights: shape mismatch, naming the tensor.
    let mut big = gcfg.clone();
    big.synthesis_kwargs.channel_max = 64;
    big.synthesis_kwargs.channel_base = 512;
    let e = Generator::<B>::from_weights(&big, &case.g, &dev).unwrap_err();
    assert!(matches!(e, StateError::Shape { .. }), "{e}");
    // An extra tensor (e.g. weights of a different architecture) is reported.
    let mut extra = case.g.clone();
    extra.insert(
        "synthesis.b16.skip.weight".into(),
        (vec![16, 32, 1, 1], vec![0.0; 512]),
    );
    let e = Generator::<B>::from_weights(&gcfg, &extra, &dev).unwrap_err();
    assert_eq!(
        e,
        StateError::Unexpected(vec!["synthesis.b16.skip.weight".into()])
    );
    let dcfg = DiscriminatorConfig::from_value(&case.cfg["D"]).unwrap();
    let mut dm = case.d.clone();
    dm.get_mut("b4.fc.weight").unwrap().0 = vec![512, 32];
    let e = Discriminator::<B>::from_weights(&dcfg, &dm, &dev).unwrap_err();
    assert!(e.to_string().contains("b4.fc.weight"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Second-order gradients (R1 and path-length style penalties) through nested autodiff.

mod second_order {
    use super::*;
    use burn::backend::Autodiff;
    use burn::module::AutodiffModule;

    type I = Autodiff<Flex>;
    type O = Autodiff<Autodiff<Flex>>;

    fn vec_of<const D: usize>(x: Tensor<Flex, D>) -> Vec<f32> {
        x.into_data().to_vec::<f32>().unwrap()
    }

    /// R1-style penalty `sum(dD/dx ^ 2)` and its gradient w.r.t. `b16.conv0.weight`.
    fn r1(cfg: &DiscriminatorConfig, map: &WeightMap, x: &Tensor<Flex, 4>) -> (f32, Vec<f32>) {
        let dev = Default::default();
        let d_inner = Discriminator::<I>::from_weights(cfg, map, &dev).unwrap();
        let d_outer = Discriminator::<O>::from_inner(d_inner.clone());
        let x = Tensor::<O, 4>::from_inner(Tensor::<I, 4>::from_inner(x.clone())).require_grad();
        let logits = d_outer.forward(x.clone(), None);
        let grads = logits.sum().backward();
        let gx: Tensor<I, 4> = x.grad(&grads).expect("gradient w.r.t. the image");
        let pen = gx.square().sum();
        let g2 = pen.backward();
        let gw = d_inner.blocks[0]
            .conv0
            .weight
            .val()
            .grad(&g2)
            .expect("second-order gradient for b16.conv0.weight");
        (pen.into_scalar_f32(), vec_of(gw))
    }

    /// Path-length-style penalty `sum(d(img . y)/dws ^ 2)` and its gradient w.r.t.
    /// `synthesis.b8.conv0.weight`.
    fn pl(
        cfg: &GeneratorConfig,
        map: &WeightMap,
        ws: &Tensor<Flex, 3>,
        y: &Tensor<Flex, 4>,
        modconv: ModConv,
    ) -> (f32, Vec<f32>) {
        let dev = Default::default();
        let g_inner = Generator::<I>::from_weights(cfg, map, &dev).unwrap();
        let g_outer = Generator::<O>::from_inner(g_inner.clone());
        let ws = Tensor::<O, 3>::from_inner(Tensor::<I, 3>::from_inner(ws.clone())).require_grad();
        let y = Tensor::<O, 4>::from_inner(Tensor::<I, 4>::from_inner(y.clone()));
        let img = g_outer.synthesis(
            ws.clone(),
            &SynthesisOptions {
                noise_mode: NoiseMode::Const,
                modconv,
            },
        );
        let grads = (img * y).sum().backward();
        let gws: Tensor<I, 3> = ws.grad(&grads).expect("gradient w.r.t. ws");
        let pen = gws.square().sum();
        let g2 = pen.backward();
        let gw = g_inner.synthesis.blocks[1]
            .conv0
            .as_ref()
            .unwrap()
            .weight
            .val()
            .grad(&g2)
            .expect("second-order gradient");
        (pen.into_scalar_f32(), vec_of(gw))
    }

    trait ScalarF32 {
        fn into_scalar_f32(self) -> f32;
    }
    impl ScalarF32 for Tensor<I, 1> {
        fn into_scalar_f32(self) -> f32 {
            self.inner().into_data().to_vec::<f32>().unwrap()[0]
        }
    }

    /// Central finite difference of `f` along `dir` on tensor `name` of `map`.
    fn fd(
        map: &WeightMap,
        name: &str,
        dir: &[f32],
        eps: f32,
        f: impl Fn(&WeightMap) -> f32,
    ) -> f64 {
        let shifted = |s: f32| {
            let mut m = map.clone();
            let e = m.get_mut(name).unwrap();
            for (v, d) in e.1.iter_mut().zip(dir) {
                *v += s * d;
            }
            f(&m) as f64
        };
        (shifted(eps) - shifted(-eps)) / (2.0 * eps as f64)
    }

    fn direction(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 % 13) as f32 - 6.0) / 6.0)
            .collect()
    }

    #[test]
    fn r1_and_path_length_gradients_match_finite_differences() {
        let case = load_case("uncond16");
        // With lrelu the penalties jump whenever a pre-activation changes sign, so finite
        // differences need a smooth activation: same weights, swish everywhere.
        // R1 on the discriminator.
        let mut dcfg = DiscriminatorConfig::from_value(&case.cfg["D"]).unwrap();
        dcfg.block_kwargs.activation = Activation::Swish;
        dcfg.epilogue_kwargs.activation = Activation::Swish;
        let x: Tensor<Flex, 4> = t::<4>(&case.io, "d_in");
        let (p, g) = r1(&dcfg, &case.d, &x);
        let dir = direction(g.len());
        let analytic: f64 = g.iter().zip(&dir).map(|(a, b)| (*a * *b) as f64).sum();
        let numeric = fd(&case.d, "b16.conv0.weight", &dir, 1e-2, |m| {
            r1(&dcfg, m, &x).0
        });
        eprintln!("R1 penalty {p:.4e}: directional derivative analytic {analytic:.6e} vs numeric {numeric:.6e}");
        assert!(analytic.abs() > 1e-6);
        assert!(
            (analytic - numeric).abs() <= 0.02 * numeric.abs(),
            "R1: {analytic} vs {numeric}"
        );

        // Path-length-style penalty on the generator, both modulated-conv strategies.
        let mut gcfg = GeneratorConfig::from_value(&case.cfg["G"]).unwrap();
        gcfg.synthesis_kwargs.activation = Activation::Swish;
        let ws: Tensor<Flex, 3> = rows(t::<3>(&case.io, "ws"), 2);
        let y: Tensor<Flex, 4> = rows(t::<4>(&case.io, "img_none"), 2);
        let name = "synthesis.b8.conv0.weight";
        for modconv in [ModConv::ScaleActivations, ModConv::Fused] {
            let (p, g) = pl(&gcfg, &case.g, &ws, &y, modconv);
            let dir = direction(g.len());
            let analytic: f64 = g.iter().zip(&dir).map(|(a, b)| (*a * *b) as f64).sum();
            let numeric = fd(&case.g, name, &dir, 1e-2, |m| {
                pl(&gcfg, m, &ws, &y, modconv).0
            });
            eprintln!(
                "PL {modconv:?} penalty {p:.4e}: analytic {analytic:.6e} vs numeric {numeric:.6e}"
            );
            assert!(analytic.abs() > 1e-6);
            assert!(
                (analytic - numeric).abs() <= 0.02 * numeric.abs(),
                "PL {modconv:?}: {analytic} vs {numeric}"
            );
        }
    }
}

struct Lite {
    g: bestiary_stylegan::GeneratorConfig,
    d: bestiary_stylegan::DiscriminatorConfig,
}

/// Timing of the `lite` preset on CPU (run with `--ignored --nocapture`).
#[test]
#[ignore]
fn bench_lite_cpu() {
    let dev = Default::default();
    for res in [32usize, 64] {
        // The `lite` preset's networks (bestiary_train::preset("lite", res, 0, 3, 1)).
        let g_cfg = bestiary_stylegan::GeneratorConfig::from_json(&format!(
            r#"{{"z_dim": 256, "w_dim": 256, "img_resolution": {res}, "img_channels": 3, "mapping_kwargs": {{"num_layers": 2}}, "synthesis_kwargs": {{"channel_base": 4096, "channel_max": 256}}}}"#
        ))
        .unwrap();
        let d_cfg = bestiary_stylegan::DiscriminatorConfig::from_json(&format!(
            r#"{{"img_resolution": {res}, "img_channels": 3, "channel_base": 4096, "channel_max": 256, "epilogue_kwargs": {{"mbstd_group_size": 4}}}}"#
        ))
        .unwrap();
        let p = Lite { g: g_cfg, d: d_cfg };
        let g = Generator::<B>::new(&p.g, &dev);
        let d = Discriminator::<B>::new(&p.d, &dev);
        let n = 16;
        let z = Tensor::<B, 2>::random(
            [n, p.g.z_dim],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &dev,
        );
        for modconv in [ModConv::ScaleActivations, ModConv::Fused] {
            let o = SynthesisOptions {
                noise_mode: NoiseMode::Const,
                modconv,
            };
            let _ = g.forward(z.clone(), None, 1.0, None, &o).into_data();
            let t0 = std::time::Instant::now();
            let reps = 3;
            for _ in 0..reps {
                let _ = g.forward(z.clone(), None, 1.0, None, &o).into_data();
            }
            let dt = t0.elapsed().as_secs_f64() / reps as f64;
            eprintln!(
                "lite {res}x{res} G forward batch {n} {modconv:?}: {:.1} ms ({:.1} img/s)",
                dt * 1e3,
                n as f64 / dt
            );
        }
        let img = g.forward(z, None, 1.0, None, &SynthesisOptions::default());
        let _ = d.forward(img.clone(), None).into_data();
        let t0 = std::time::Instant::now();
        for _ in 0..3 {
            let _ = d.forward(img.clone(), None).into_data();
        }
        eprintln!(
            "lite {res}x{res} D forward batch {n}: {:.1} ms",
            t0.elapsed().as_secs_f64() / 3.0 * 1e3
        );
    }
}

/// The architectures the official code offers besides the defaults build, run and name their
/// tensors as the official modules do; Freeze-D turns leading layers into buffers; the W
/// average update is the official lerp.
#[test]
fn other_architectures_freeze_d_and_w_avg() {
    use bestiary_stylegan::Architecture;
    use burn::module::Module;
    let dev = Default::default();
    let base = GeneratorConfig::from_json(
        r#"{"z_dim": 8, "w_dim": 8, "c_dim": 2, "img_resolution": 16, "img_channels": 3,
            "mapping_kwargs": {"num_layers": 2}, "synthesis_kwargs": {"channel_base": 64, "channel_max": 8}}"#,
    )
    .unwrap();
    let z = Tensor::<B, 2>::random([4, 8], burn::tensor::Distribution::Normal(0.0, 1.0), &dev);
    let c = Tensor::<B, 2>::from_data(
        TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0], [4, 2]),
        &dev,
    );
    for arch in [Architecture::Orig, Architecture::Skip, Architecture::Resnet] {
        let mut cfg = base.clone();
        cfg.synthesis_kwargs.architecture = arch;
        let g = Generator::<B>::new(&cfg, &dev);
        assert_eq!(g.num_ws(), 6);
        let sd = g.state_dict();
        assert_eq!(
            sd.contains_key("synthesis.b8.torgb.weight"),
            arch == Architecture::Skip
        );
        assert!(sd.contains_key("synthesis.b16.torgb.weight"));
        assert_eq!(
            sd.contains_key("synthesis.b8.skip.weight"),
            arch == Architecture::Resnet
        );
        assert!(!sd.contains_key("synthesis.b4.skip.weight"));
        assert!(sd.contains_key("mapping.embed.weight"));
        // Reload from the export: same images.
        let g2 = Generator::<B>::from_weights(&cfg, &sd, &dev).unwrap();
        let o = per_sample();
        let a = g.forward(z.clone(), Some(c.clone()), 0.5, Some(2), &o);
        let b = g2.forward(z.clone(), Some(c.clone()), 0.5, Some(2), &o);
        assert_eq!(a.dims(), [4, 3, 16, 16]);
        let e = (a - b).abs().max().into_scalar();
        assert!(e == 0.0, "{arch:?}: reload changed the output by {e}");
    }
    for arch in [Architecture::Orig, Architecture::Skip, Architecture::Resnet] {
        let cfg = DiscriminatorConfig::from_json(&format!(
            r#"{{"c_dim": 2, "img_resolution": 16, "img_channels": 3, "channel_base": 64, "channel_max": 8,
                "architecture": "{}", "block_kwargs": {{"freeze_layers": 2}}, "cmap_dim": 4}}"#,
            match arch {
                Architecture::Orig => "orig",
                Architecture::Skip => "skip",
                Architecture::Resnet => "resnet",
            }
        ))
        .unwrap();
        let d = Discriminator::<B>::new(&cfg, &dev);
        let sd = d.state_dict();
        assert_eq!(
            sd.contains_key("b8.fromrgb.weight"),
            arch == Architecture::Skip
        );
        assert_eq!(
            sd.contains_key("b4.fromrgb.weight"),
            arch == Architecture::Skip
        );
        assert_eq!(
            sd.contains_key("b16.skip.weight"),
            arch == Architecture::Resnet
        );
        assert_eq!(sd["b4.out.weight"].0, vec![4, 8]);
        assert_eq!(sd["mapping.fc7.weight"].0, vec![4, 4]);
        // Freeze-D: b16.fromrgb and b16.conv0 (layers 0 and 1) are buffers.
        let da = Discriminator::<burn::backend::Autodiff<B>>::new(&cfg, &dev);
        let b = &da.blocks[0];
        let frozen = [&b.fromrgb.as_ref().unwrap().weight, &b.conv0.weight];
        assert!(frozen.iter().all(|p| !p.is_require_grad()));
        assert!(!b.conv0.bias.as_ref().unwrap().is_require_grad());
        assert!(b.conv1.weight.is_require_grad() && da.blocks[1].conv0.weight.is_require_grad());
        let img = Tensor::<B, 4>::random(
            [4, 3, 16, 16],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &dev,
        );
        let logits = d.forward(img.clone(), Some(c.clone()));
        assert_eq!(logits.dims(), [4, 1]);
        let d2 = Discriminator::<B>::from_weights(&cfg, &sd, &dev).unwrap();
        let e = (d2.forward(img, Some(c.clone())) - logits)
            .abs()
            .max()
            .into_scalar();
        assert!(e == 0.0);
        let _ = d.num_params();
    }
    // Buffers (noise_const, w_avg) are not trainable; parameters are.
    let ga = Generator::<burn::backend::Autodiff<B>>::new(&base, &dev);
    let l = &ga.synthesis.blocks[1].conv0.as_ref().unwrap();
    assert!(!l.noise_const.as_ref().unwrap().is_require_grad());
    assert!(l.noise_strength.as_ref().unwrap().is_require_grad() && l.weight.is_require_grad());
    assert!(!ga.mapping.w_avg.as_ref().unwrap().is_require_grad());
    assert!(ga.mapping.fcs[0].weight.is_require_grad());
    // w_avg update: w_avg <- mean(w).lerp(w_avg, beta).
    let g = Generator::<B>::new(&base, &dev);
    let old = g.mapping.w_avg().unwrap();
    let w = g.mapping.forward_w(Some(z), Some(c));
    let mean: Tensor<B, 1> = w.clone().mean_dim(0).reshape([8]);
    let m = g.mapping.update_w_avg(w);
    let want = mean.clone() + (old - mean) * 0.995;
    let e = (m.w_avg().unwrap() - want).abs().max().into_scalar();
    assert!(e < 1e-6, "w_avg update off by {e}");
}

/// Seeds give the official latents bit-exactly, and seed -> 8-bit image reproduces the official
/// generate.py output (truncation, class label, const noise).
#[test]
fn seeds_reproduce_official_images() {
    let dev = Default::default();
    for name in ["uncond16", "cond32", "rgba16"] {
        let case = load_case(name);
        let gcfg = GeneratorConfig::from_value(&case.cfg["G"]).unwrap();
        let seeds: Vec<u32> = case.cfg["seeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let z: Vec<f32> = seeds
            .iter()
            .flat_map(|&s| bestiary_stylegan::seed::z_from_seed(s, gcfg.z_dim))
            .collect();
        let (zs, want) = get(&case.io, "z");
        assert_eq!(zs, vec![seeds.len(), gcfg.z_dim]);
        assert!(
            z.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}: z differs"
        );
        let g = Generator::<B>::from_weights(&gcfg, &case.g, &dev).unwrap();
        let z = Tensor::<B, 2>::from_data(TensorData::new(z, [seeds.len(), gcfg.z_dim]), &dev);
        let psi = case.cfg["trunc_psi"].as_f64().unwrap();
        let cutoff = case.cfg["trunc_cutoff"].as_u64().map(|v| v as usize);
        let img = g.forward(z, c_of(&case, "c"), psi, cutoff, &per_sample());
        let u8s = to_uint8_nhwc(img);
        let (_, want) = get(&case.io, "img_u8");
        let max_d = u8s
            .iter()
            .zip(&want)
            .map(|(a, b)| (*a as f32 - b).abs())
            .fold(0.0, f32::max);
        assert!(max_d <= 1.0, "{name}: seed images differ by {max_d}");
    }
}
