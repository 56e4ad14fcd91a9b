#![no_main]
//! torch zip archives (torch.save and TorchScript), legacy torch.save streams and plain (numpy) pickles.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bestiary_weights::read_torch_state_dict(data);
    let _ = bestiary_weights::read_zip_tensors(data);
});
