//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use bestiary_weights::TensorData;

pub fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn expected() -> serde_json::Value {
    serde_json::from_slice(&fixture("expected.json")).unwrap()
}

/// Checks names, shapes, dtypes and exact values against expected.json entries
/// `{name: {shape, dtype, values}}`.
pub fn check_tensors(what: &str, got: &BTreeMap<String, TensorData>, exp: &serde_json::Value) {
    let exp = exp
        .as_object()
        .unwrap_or_else(|| panic!("{what}: expected entries missing"));
    let got_names: Vec<&String> = got.keys().collect();
    let exp_names: Vec<&String> = exp.keys().collect();
    assert_eq!(got_names, exp_names, "{what}: tensor names");
    for (name, e) in exp {
        let t = &got[name];
        let shape: Vec<usize> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(t.shape, shape, "{what}: {name} shape");
        assert_eq!(
            t.dtype.name(),
            e["dtype"].as_str().unwrap(),
            "{what}: {name} dtype"
        );
        let vals: Vec<f32> = e["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(t.data.len(), vals.len(), "{what}: {name} length");
        for (i, (a, b)) in t.data.iter().zip(&vals).enumerate() {
            assert!(
                a == b || (a.is_nan() && b.is_nan()),
                "{what}: {name}[{i}] = {a}, expected {b}"
            );
        }
    }
}
