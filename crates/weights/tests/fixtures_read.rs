//! Reads the fixtures written by make_fixtures.py and compares with the values the script recorded.

mod common;

use bestiary_weights::pickle::{self, Limits, Value};
use bestiary_weights::{
    read_stylegan_pkl, read_torch_state_dict, read_zip_tensors, safetensors_io, DType,
};
use common::*;

#[test]
fn stylegan_pickles_all_protocols() {
    let exp = expected();
    let sg = &exp["stylegan"];
    for proto in [0, 2, 3, 4, 5] {
        let name = format!("stylegan_p{proto}.pkl");
        let pkl = read_stylegan_pkl(&fixture(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_tensors(&format!("{name} G_ema"), &pkl.g_ema.tensors, &sg["G_ema"]);
        assert_eq!(pkl.g_ema.class_name, "Generator");
        assert_eq!(
            pkl.g_ema.init_kwargs, sg["G_ema_init_kwargs"],
            "{name}: init_kwargs"
        );
        assert!(
            !pkl.g_ema.tensors.contains_key("synthesis.b4.scratch"),
            "non-persistent buffer kept"
        );
        if proto == 0 {
            assert!(pkl.g.is_none() && pkl.d.is_none() && pkl.training_set_kwargs.is_none());
            continue;
        }
        let g = pkl.g.as_ref().expect("G");
        assert_eq!(
            g.tensors, pkl.g_ema.tensors,
            "{name}: G equals G_ema by construction"
        );
        let d = pkl.d.as_ref().expect("D");
        assert_eq!(d.class_name, "Discriminator");
        check_tensors(&format!("{name} D"), &d.tensors, &sg["D"]);
        assert_eq!(d.init_kwargs["epilogue_kwargs"]["mbstd_group_size"], 4);
        assert_eq!(
            pkl.training_set_kwargs.as_ref().unwrap(),
            &sg["training_set_kwargs"]
        );
    }
}

#[test]
fn stylegan_kwargs_keep_types() {
    let pkl = read_stylegan_pkl(&fixture("stylegan_p4.pkl")).unwrap();
    let k = &pkl.g_ema.init_kwargs;
    assert_eq!(k["z_dim"], serde_json::json!(4));
    assert_eq!(k["synthesis_kwargs"]["ratio"], serde_json::json!(0.5));
    assert_eq!(k["synthesis_kwargs"]["conv_clamp"], serde_json::Value::Null);
    assert_eq!(
        k["synthesis_kwargs"]["nested"]["a"],
        serde_json::json!([1, 2.5, null, true])
    );
    assert_eq!(
        k["synthesis_kwargs"]["nested"]["t"],
        serde_json::json!([1, "x"])
    );
}

#[test]
fn evil_network_and_tensor_are_refused_with_clear_errors() {
    // A network or a tensor that is a call of os.system: the call is named and refused.
    let refused = "refused: the pickle calls 'posix.system', which no network pickle does (nothing was executed)";
    let e = read_stylegan_pkl(&fixture("evil_network_p4.pkl"))
        .unwrap_err()
        .to_string();
    assert_eq!(e, refused);
    let bytes = fixture("evil_tensor_p4.pkl");
    let e = read_stylegan_pkl(&bytes).unwrap_err().to_string();
    assert_eq!(e, refused);
    // The pickle itself parses: the call stays a symbolic record in the tree.
    let v = pickle::parse(&bytes, &Limits::default()).unwrap();
    fn find_system(v: &Value) -> bool {
        match v {
            Value::Call(c) => {
                c.func.as_global() == Some(("posix", "system"))
                    || find_system(&c.args)
                    || c.dict_items
                        .iter()
                        .any(|(k, x)| find_system(k) || find_system(x))
            }
            Value::Dict(d) => d.iter().any(|(k, x)| find_system(k) || find_system(x)),
            Value::List(x) | Value::Tuple(x) => x.iter().any(find_system),
            Value::Build { obj, state } => find_system(obj) || find_system(state),
            _ => false,
        }
    }
    assert!(find_system(&v));
}

#[test]
fn legacy_torch_save() {
    let exp = expected();
    let sd = read_torch_state_dict(&fixture("legacy_p2.pt")).unwrap();
    check_tensors("legacy_p2.pt", &sd, &exp["legacy"]);
    assert_eq!(sd["t_f16"].dtype, DType::F16);
    assert_eq!(sd["view"].data.len(), 4);
    // a checkpoint: only its state_dict entry
    let ck = read_torch_state_dict(&fixture("legacy_checkpoint.pt")).unwrap();
    assert_eq!(ck.keys().collect::<Vec<_>>(), vec!["a"]);
    assert_eq!(ck["a"], sd["t_f32"]);
}

#[test]
fn torch_zip_and_torchscript() {
    let exp = expected();
    let sd = read_torch_state_dict(&fixture("zip_state_dict.pt")).unwrap();
    check_tensors("zip_state_dict.pt", &sd, &exp["zip"]);
    let ts = read_zip_tensors(&fixture("torchscript_like.pt")).unwrap();
    check_tensors("torchscript_like.pt", &ts, &exp["torchscript"]);
}

#[test]
fn numpy_pickles_all_protocols() {
    let exp = expected();
    for proto in [2, 3, 4, 5] {
        let name = format!("numpy_p{proto}.pkl");
        let sd = read_torch_state_dict(&fixture(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_tensors(&name, &sd, &exp["numpy"]);
    }
}

#[test]
fn stylegan_to_safetensors_round_trip() {
    let pkl = read_stylegan_pkl(&fixture("stylegan_p4.pkl")).unwrap();
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("init_kwargs".to_string(), pkl.g_ema.init_kwargs.to_string());
    let bytes = safetensors_io::write(&pkl.g_ema.tensors, &meta, DType::F32).unwrap();
    let (back, m) = safetensors_io::read(&bytes).unwrap();
    assert_eq!(m, meta);
    assert_eq!(back.len(), pkl.g_ema.tensors.len());
    for (k, t) in &back {
        let o = &pkl.g_ema.tensors[k];
        assert_eq!((&t.shape, &t.data), (&o.shape, &o.data), "{k}");
    }
}
