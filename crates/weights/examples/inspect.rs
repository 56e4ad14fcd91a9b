//! Lists the tensors of a weight file: `cargo run -p bestiary-weights --example inspect -- FILE`.
//! Official StyleGAN2-ADA pickles (`.pkl` with a G_ema), torch zip / TorchScript / legacy files, numpy pickles
//! and safetensors are recognised.

use std::collections::BTreeMap;

use bestiary_weights::{safetensors_io, TensorData};

fn main() {
    let path = std::env::args().nth(1).expect("usage: inspect FILE");
    let bytes = std::fs::read(&path).expect("read");
    let t0 = std::time::Instant::now();
    let tensors: Result<BTreeMap<String, TensorData>, _> = if path.ends_with(".safetensors") {
        safetensors_io::read(&bytes).map(|(t, _)| t)
    } else if path.ends_with(".pkl") {
        match bestiary_weights::read_stylegan_pkl(&bytes) {
            Ok(p) => {
                println!(
                    "G_ema {} init_kwargs {}",
                    p.g_ema.class_name, p.g_ema.init_kwargs
                );
                Ok(p.g_ema.tensors)
            }
            Err(e) => {
                println!("not a StyleGAN pickle ({e}); reading as a state dict");
                bestiary_weights::read_torch_state_dict(&bytes)
            }
        }
    } else if bestiary_weights::torch_zip::is_zip(&bytes) {
        bestiary_weights::read_zip_tensors(&bytes)
    } else {
        bestiary_weights::read_torch_state_dict(&bytes)
    };
    match tensors {
        Ok(t) => {
            let n: usize = t.values().map(|x| x.numel()).sum();
            for (k, v) in &t {
                let s: f64 = v.data.iter().map(|&x| x as f64).sum();
                println!("{k} {:?} {} sum={s:.6}", v.shape, v.dtype.name());
            }
            println!("{} tensors, {n} elements, {:.2?}", t.len(), t0.elapsed());
        }
        Err(e) => {
            println!("error: {e}");
            std::process::exit(1);
        }
    }
}
