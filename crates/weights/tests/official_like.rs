//! The pickles written by real torch + the official StyleGAN2-ADA networks (module source stripped), placed by
//! the fixture tooling with official_like_names.json (names, shapes, first values, init kwargs). When the
//! files are absent this test says so and checks nothing.

mod common;

use bestiary_weights::{read_stylegan_pkl, Network};
use common::*;

fn check_net(what: &str, net: &Network, exp: &serde_json::Value) {
    assert_eq!(&net.init_kwargs, &exp["init_kwargs"], "{what}: init_kwargs");
    let shapes = exp["tensors"].as_object().unwrap();
    let got: Vec<&String> = net.tensors.keys().collect();
    let mut want: Vec<&String> = shapes.keys().collect();
    want.sort();
    assert_eq!(got, want, "{what}: tensor names");
    for (name, shape) in shapes {
        let shape: Vec<usize> = shape
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(net.tensors[name].shape, shape, "{what}: {name}");
    }
    for (name, vals) in exp["ref"].as_object().unwrap() {
        let t = &net.tensors[name];
        for (i, v) in vals.as_array().unwrap().iter().enumerate() {
            assert_eq!(t.data[i], v.as_f64().unwrap() as f32, "{what}: {name}[{i}]");
        }
    }
}

#[test]
fn official_like_pickles() {
    if !fixture_path("official_like_names.json").exists() {
        eprintln!("official_like_names.json absent: nothing to check");
        return;
    }
    let names: serde_json::Value =
        serde_json::from_slice(&fixture("official_like_names.json")).unwrap();
    let mut read = 0;
    for proto in 2..=5 {
        let file = format!("official_like_p{proto}.pkl");
        if !fixture_path(&file).exists() {
            continue;
        }
        let pkl = read_stylegan_pkl(&fixture(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        check_net(&format!("{file} G_ema"), &pkl.g_ema, &names["G_ema"]);
        check_net(&format!("{file} G"), pkl.g.as_ref().unwrap(), &names["G"]);
        check_net(&format!("{file} D"), pkl.d.as_ref().unwrap(), &names["D"]);
        assert_eq!(pkl.g_ema.class_name, "Generator");
        assert_eq!(pkl.d.as_ref().unwrap().class_name, "Discriminator");
        assert_eq!(
            pkl.training_set_kwargs.as_ref().unwrap(),
            &names["training_set_kwargs"]
        );
        read += 1;
    }
    assert!(
        read > 0,
        "official_like_names.json present but no official_like_p*.pkl"
    );
}
