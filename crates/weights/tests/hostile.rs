//! Hostile inputs: truncations at every byte, huge declared lengths, aliasing and nesting bombs, storages
//! larger than the file, and a seeded mutation fuzzer over the fixtures. Each must give an error (never a
//! panic), quickly, and without big allocations: a counting global allocator measures the peak.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bestiary_weights::pickle::{self, Limits};
use bestiary_weights::{
    read_stylegan_pkl, read_torch_state_dict, read_zip_tensors, safetensors_io,
};
use common::*;

struct Counting;
static CUR: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let c = CUR.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(c, Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            let c = CUR.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(c, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        CUR.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let c = CUR.fetch_add(new - l.size(), Relaxed) + (new - l.size());
                PEAK.fetch_max(c, Relaxed);
            } else {
                CUR.fetch_sub(l.size() - new, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Serialises the measuring tests of this binary.
static LOCK: Mutex<()> = Mutex::new(());

/// Runs `f`, returning its result, the peak bytes allocated above the starting level, and the time taken.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    let base = CUR.load(Relaxed);
    PEAK.store(base, Relaxed);
    let t = Instant::now();
    let r = f();
    let el = t.elapsed();
    (r, PEAK.load(Relaxed).saturating_sub(base), el)
}

const MB: usize = 1 << 20;

fn every_reader(data: &[u8]) {
    let _ = pickle::parse(data, &Limits::default());
    let _ = read_stylegan_pkl(data);
    let _ = read_torch_state_dict(data);
    let _ = read_zip_tensors(data);
    let _ = safetensors_io::read(data);
    let _ = bestiary_weights::identify(data);
}

const SMALL_FIXTURES: &[&str] = &[
    "stylegan_p0.pkl",
    "stylegan_p2.pkl",
    "stylegan_p3.pkl",
    "stylegan_p4.pkl",
    "stylegan_p5.pkl",
    "evil_tensor_p4.pkl",
    "legacy_p2.pt",
    "legacy_checkpoint.pt",
    "zip_state_dict.pt",
    "torchscript_like.pt",
    "numpy_p2.pkl",
    "numpy_p3.pkl",
    "numpy_p4.pkl",
    "numpy_p5.pkl",
];

/// Every prefix of one fixture of each format (and every 17th prefix of the others) must be refused.
#[test]
fn truncated_at_every_offset_is_an_error() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut runs = 0usize;
    let every = [
        "stylegan_p4.pkl",
        "legacy_p2.pt",
        "zip_state_dict.pt",
        "torchscript_like.pt",
        "numpy_p2.pkl",
        "numpy_p5.pkl",
    ];
    let ((), peak, el) = measure(|| {
        for name in SMALL_FIXTURES {
            let data = fixture(name);
            let step = if every.contains(name) { 1 } else { 17 };
            let read: &dyn Fn(&[u8]) -> bool =
                if name.starts_with("stylegan") || name.starts_with("evil") {
                    &|d| read_stylegan_pkl(d).is_ok()
                } else if name.starts_with("torchscript") {
                    &|d| read_zip_tensors(d).is_ok()
                } else {
                    &|d| read_torch_state_dict(d).is_ok()
                };
            for cut in (0..data.len()).step_by(step) {
                assert!(
                    !read(&data[..cut]),
                    "{name} truncated to {cut} bytes was accepted"
                );
                runs += 1;
            }
        }
    });
    eprintln!(
        "truncations: {runs} runs, peak {} KiB, {el:.2?}",
        peak >> 10
    );
    assert!(peak < 16 * MB, "peak allocation {peak}");
}

#[test]
fn huge_declared_lengths() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "BINBYTES8",
            [&b"\x80\x04\x8e"[..], &(1u64 << 62).to_le_bytes(), b"xx."].concat(),
        ),
        (
            "BINUNICODE8",
            [&b"\x80\x04\x8d"[..], &u64::MAX.to_le_bytes(), b"xx."].concat(),
        ),
        (
            "BYTEARRAY8",
            [&b"\x80\x05\x96"[..], &(u64::MAX - 1).to_le_bytes(), b"xx."].concat(),
        ),
        (
            "BINUNICODE",
            [&b"\x80\x04X"[..], &u32::MAX.to_le_bytes(), b"xx."].concat(),
        ),
        (
            "BINBYTES",
            [&b"\x80\x04B"[..], &u32::MAX.to_le_bytes(), b"xx."].concat(),
        ),
        (
            "LONG4",
            [&b"\x80\x04\x8b"[..], &i32::MAX.to_le_bytes(), b"xx."].concat(),
        ),
        (
            "BINSTRING",
            [&b"\x80\x02T"[..], &i32::MAX.to_le_bytes(), b"xx."].concat(),
        ),
        (
            "FRAME",
            [&b"\x80\x04\x95"[..], &u64::MAX.to_le_bytes(), b"N."].concat(),
        ),
        (
            "LONG_BINGET",
            [&b"\x80\x04j"[..], &u32::MAX.to_le_bytes(), b"."].concat(),
        ),
        ("text GET", b"(lp0\ng99999999999999999999\n.".to_vec()),
        (
            "long text INT",
            [&b"I"[..], &vec![b'9'; 100_000], b"\n."].concat(),
        ),
    ];
    for (what, data) in cases {
        let (r, peak, el) = measure(|| pickle::parse(&data, &Limits::default()));
        let e = r.expect_err(what).to_string();
        assert!(!e.contains('\n'), "{what}: {e}");
        assert!(peak < 2 * MB, "{what}: peak {peak}");
        assert!(el < Duration::from_millis(500), "{what}: {el:?}");
        eprintln!("{what}: {e}");
    }
}

/// `x = []`, then 60 times `x = (x, x)` through the memo: 2**60 leaves once expanded.
#[test]
fn memo_aliasing_bomb() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut d = b"\x80\x04]\x94".to_vec();
    for i in 0..60u32 {
        d.push(b'j');
        d.extend_from_slice(&i.to_le_bytes());
        d.extend_from_slice(b"2\x86\x94"); // DUP, TUPLE2, MEMOIZE
        d.push(b'0'); // POP: only the memo keeps it
    }
    d.push(b'j');
    d.extend_from_slice(&60u32.to_le_bytes());
    d.push(b'.');
    let (r, peak, el) = measure(|| pickle::parse(&d, &Limits::default()));
    let e = r.unwrap_err().to_string();
    assert!(e.contains("expands to more than"), "{e}");
    assert!(peak < 16 * MB, "peak {peak}");
    assert!(el < Duration::from_secs(1), "{el:?}");
    // the same through the high-level readers
    assert!(read_stylegan_pkl(&d).is_err());
    assert!(read_torch_state_dict(&d).is_err());
}

#[test]
fn nesting_bombs() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let n = 1_000_000;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "TUPLE1 chain",
            [&b"\x80\x04)"[..], &vec![0x85u8; n], b"."].concat(),
            "nested deeper",
        ),
        (
            "MARK TUPLE chain",
            [&b"\x80\x02"[..], &b"(".repeat(n), &b"t".repeat(n), b"."].concat(),
            "stack deeper",
        ),
        // a wide list of 100k empty lists (200 kB): accepted; memory stays proportional
        (
            "wide list",
            [&b"\x80\x02]"[..], &b"]a".repeat(100_000), b"."].concat(),
            "",
        ),
        (
            "list into list chain",
            // l0 = []; then repeatedly: l_new = []; l_new.append(top) — build via EMPTY_LIST, SWAP-less: use
            // (MARK  ... LIST): "(" x n then "l" x n nests lists inside lists
            [
                &b"\x80\x02"[..],
                &b"(".repeat(n / 2),
                &b"l".repeat(n / 2),
                b".",
            ]
            .concat(),
            "stack deeper",
        ),
        (
            "BUILD chain",
            [&b"\x80\x02N"[..], &b"Nb".repeat(n), b"."].concat(),
            "nested deeper",
        ),
        (
            "dict value chain",
            [&b"\x80\x02N"[..], &b"}q\x00h\x00".repeat(10), b"."].concat(),
            "",
        ),
    ];
    for (what, data, want) in cases {
        let (r, peak, el) = measure(|| pickle::parse(&data, &Limits::default()));
        match r {
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains(want), "{what}: {e}");
            }
            Ok(_) => assert!(want.is_empty(), "{what} accepted"),
        }
        assert!(peak < 32 * MB, "{what}: peak {peak}");
        assert!(el < Duration::from_secs(2), "{what}: {el:?}");
    }
}

/// Offset of the storage data section of a legacy stream (after its five pickles).
fn legacy_data_offset(data: &[u8]) -> usize {
    let mut pos = 0;
    for _ in 0..5 {
        let (_, n) = pickle::parse_prefix(&data[pos..], &Limits::default()).unwrap();
        pos += n;
    }
    pos
}

#[test]
fn storage_larger_than_the_file() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut data = fixture("legacy_p2.pt");
    let off = legacy_data_offset(&data);
    for count in [u64::MAX, 1 << 40, 1_000_000] {
        data[off..off + 8].copy_from_slice(&count.to_le_bytes());
        let (r, peak, _) = measure(|| read_torch_state_dict(&data));
        let e = r.unwrap_err().to_string();
        assert!(e.contains("declares") && e.contains("remain"), "{e}");
        assert!(peak < 2 * MB, "peak {peak}");
    }
    // A nested _load_from_bytes stream whose storage claims more elements than it carries: truncate the
    // data of one storage inside the StyleGAN pickle by patching its count upwards.
    let pkl = fixture("stylegan_p4.pkl");
    let needle = b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"; // LONG1 magic: start of a nested stream
    let start = pkl.windows(needle.len()).position(|w| w == needle).unwrap() - 2;
    let off = start + legacy_data_offset(&pkl[start..]);
    let mut bad = pkl.clone();
    bad[off..off + 8].copy_from_slice(&(1u64 << 50).to_le_bytes());
    let e = read_stylegan_pkl(&bad).unwrap_err().to_string();
    assert!(e.contains("declares"), "{e}");
}

#[test]
fn zip_storage_numel_beyond_record() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    use std::io::Write;
    // data.pkl: {'w': _rebuild_tensor_v2(pid('storage', FloatStorage, '0', 'cpu', NUMEL), 0, (NUMEL,), (1,), False, OrderedDict())}
    let pkl = |numel: u32| -> Vec<u8> {
        let mut p = b"\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuJ".to_vec();
        p.extend_from_slice(&numel.to_le_bytes());
        p.extend_from_slice(b"tQK\x00J");
        p.extend_from_slice(&numel.to_le_bytes());
        p.extend_from_slice(b"\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRs.");
        p
    };
    let make = |numel: u32| -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut buf);
        let opt = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        z.start_file("archive/data.pkl", opt).unwrap();
        z.write_all(&pkl(numel)).unwrap();
        z.start_file("archive/data/0", opt).unwrap();
        z.write_all(&[0u8; 16]).unwrap();
        z.finish().unwrap();
        buf.into_inner()
    };
    let ok = read_torch_state_dict(&make(4)).unwrap();
    assert_eq!(ok["w"].shape, vec![4]);
    for numel in [5, 1 << 30, i32::MAX as u32] {
        let data = make(numel);
        let (r, peak, _) = measure(|| read_torch_state_dict(&data));
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("record has 16 bytes") || e.contains("too large"),
            "{e}"
        );
        assert!(peak < 2 * MB, "peak {peak}");
    }
}

#[test]
fn nested_stream_budget() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let limits = Limits {
        max_nested_streams: 0,
        ..Limits::default()
    };
    let e = bestiary_weights::read_stylegan_pkl_with(&fixture("stylegan_p4.pkl"), &limits)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nested deeper than 0"), "{e}");
}

/// xorshift64*: deterministic mutations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut d = src.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = d.len();
        match rng.below(8) {
            0 => {
                let i = rng.below(len);
                if i < len {
                    d[i] ^= 1 << rng.below(8);
                }
            }
            1 => {
                let i = rng.below(len);
                if i < len {
                    d[i] = [0u8, 0xff, 0x7f, 0x80, 1, b'.', b'(', 0x8e][rng.below(8)];
                }
            }
            2 => d.truncate(rng.below(len + 1)),
            3 => {
                let i = rng.below(len + 1);
                let b = (rng.next() & 0xff) as u8;
                d.insert(i, b);
            }
            4 => {
                // overwrite 4 or 8 bytes with an extreme little-endian integer (lengths, counts)
                let i = rng.below(len);
                let v: u64 = [u64::MAX, 1 << 31, 1 << 40, 0, 0x7fff_ffff, 65536][rng.below(6)];
                let w = if rng.below(2) == 0 { 4 } else { 8 };
                for k in 0..w {
                    if i + k < d.len() {
                        d[i + k] = (v >> (8 * k)) as u8;
                    }
                }
            }
            5 => {
                // duplicate a chunk
                if len > 2 {
                    let a = rng.below(len);
                    let n = 1 + rng.below((len - a).min(64));
                    let chunk = d[a..a + n].to_vec();
                    let at = rng.below(d.len() + 1);
                    d.splice(at..at, chunk);
                }
            }
            6 => {
                // delete a chunk
                if len > 2 {
                    let a = rng.below(len);
                    let n = 1 + rng.below((len - a).min(32));
                    d.drain(a..a + n);
                }
            }
            _ => {
                let i = rng.below(len);
                if i < len {
                    d[i] = d[i].wrapping_add(1 + rng.below(3) as u8);
                }
            }
        }
    }
    d
}

/// The in-test mutation fuzzer: a few thousand mutated fixtures through every reader; none may panic, and
/// memory stays small.
#[test]
fn mutation_fuzzer() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let iters: usize = std::env::var("BESTIARY_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut seeds: Vec<(String, Vec<u8>)> = SMALL_FIXTURES
        .iter()
        .map(|n| (n.to_string(), fixture(n)))
        .collect();
    let mut st = std::collections::BTreeMap::new();
    st.insert(
        "a".to_string(),
        bestiary_weights::TensorData {
            shape: vec![2, 2],
            dtype: bestiary_weights::DType::F32,
            data: vec![1.0, 2.0, 3.0, 4.0],
        },
    );
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("k".to_string(), "v".to_string());
    seeds.push((
        "safetensors".into(),
        safetensors_io::write(&st, &meta, bestiary_weights::DType::F16).unwrap(),
    ));
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut runs = 0usize;
    let mut panics = Vec::new();
    let ((), peak, el) = measure(|| {
        for (name, data) in &seeds {
            for _ in 0..iters {
                let m = mutate(&mut rng, data);
                let r = std::panic::catch_unwind(|| every_reader(&m));
                runs += 1;
                if r.is_err() {
                    panics.push(format!(
                        "{name}: {}",
                        m.iter().map(|b| format!("{b:02x}")).collect::<String>()
                    ));
                }
            }
        }
    });
    eprintln!(
        "mutation fuzzer: {runs} mutated inputs x 5 readers, {} panics, peak {} KiB, {el:.2?}",
        panics.len(),
        peak >> 10
    );
    assert!(panics.is_empty(), "panics on:\n{}", panics.join("\n"));
    assert!(peak < 64 * MB, "peak {peak}");
}

/// Pickles that call something no network pickle calls are refused naming the call, whatever their protocol
/// and wherever the call sits; the official-structure pickles call nothing outside the known list.
#[test]
fn pickles_calling_other_functions_are_refused_by_name() {
    let p0 = b"cos\nsystem\n(S'echo pwned'\ntR.".to_vec();
    let p2 = b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.".to_vec();
    // protocol 4 (Python's own pickle.dumps): {'training_set_kwargs': eval('1'), 'G_ema': exec('1')}
    let p4 = b"\x80\x04\x95N\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x13training_set_kwargs\x94\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x011\x94\x85\x94R\x94\x8c\x05G_ema\x94h\x02\x8c\x04exec\x94\x93\x94h\x06R\x94u.".to_vec();
    for (what, bytes, global) in [
        ("protocol 0", p0, "os.system"),
        ("protocol 2", p2, "os.system"),
        ("protocol 4", p4, "builtins.eval"),
    ] {
        assert!(
            matches!(
                bestiary_weights::identify(&bytes),
                bestiary_weights::FileKind::Pickle { .. }
            ),
            "{what}"
        );
        let e = read_stylegan_pkl(&bytes).unwrap_err();
        assert!(
            matches!(e, bestiary_weights::Error::Refused(_)),
            "{what}: {e}"
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with("refused: ") && msg.contains(&format!("'{global}'")),
            "{what}: {msg}"
        );
        assert!(msg.contains("nothing was executed"), "{msg}");
    }
    for name in [
        "official_like_p2.pkl",
        "official_like_p3.pkl",
        "official_like_p4.pkl",
        "official_like_p5.pkl",
        "stylegan_p0.pkl",
        "stylegan_p2.pkl",
        "stylegan_p5.pkl",
    ] {
        let v = pickle::parse(&fixture(name), &Limits::default()).unwrap();
        assert_eq!(bestiary_weights::interp::unknown_call(&v), None, "{name}");
    }
}

/// What a file is, told before any reader runs.
#[test]
fn files_that_are_no_weight_file_are_named() {
    use bestiary_weights::{identify, FileKind};
    assert_eq!(identify(&[]), FileKind::Empty);
    assert_eq!(
        identify(&fixture("official_like_p4.pkl")),
        FileKind::Pickle { protocol: 4 }
    );
    assert_eq!(
        identify(&fixture("stylegan_p0.pkl")),
        FileKind::Pickle { protocol: 0 }
    );
    assert_eq!(identify(&fixture("zip_state_dict.pt")), FileKind::TorchZip);
    let mut rng = Rng(7);
    let random: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    assert_eq!(identify(&random), FileKind::Unknown);
    assert_eq!(
        identify(&random).describe(),
        "neither a pickle nor safetensors"
    );
    let png = [&b"\x89PNG\r\n\x1a\n"[..], &random[..64]].concat();
    assert_eq!(identify(&png).describe(), "a PNG image");
    let mut st = std::collections::BTreeMap::new();
    st.insert(
        "a".to_string(),
        bestiary_weights::TensorData {
            shape: vec![1],
            dtype: bestiary_weights::DType::F32,
            data: vec![1.0],
        },
    );
    assert_eq!(
        identify(
            &safetensors_io::write(&st, &Default::default(), bestiary_weights::DType::F32).unwrap()
        ),
        FileKind::Safetensors
    );
}
