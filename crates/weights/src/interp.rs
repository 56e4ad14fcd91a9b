//! Meaning for value trees: dict-likes (`OrderedDict`, `EasyDict`, copyreg-reconstructed dict subclasses),
//! torch modules (`_parameters` / `_buffers` / `_modules` → `state_dict()` names), JSON for plain data, and a
//! generic walk that names every tensor of a tree by its path.
//!
//! Recursion here follows the tree, whose depth the pickle reader has already bounded.

use std::collections::BTreeMap;

use crate::elements::TensorData;
use crate::error::{show, Error, Result};
use crate::pickle::{CallKind, Value};
use crate::tensor::{is_tensor, TensorReader};

/// Classes that are plain mappings when pickled with SETITEMS (or empty).
fn is_mapping_class(m: &str, n: &str) -> bool {
    matches!(
        (m, n),
        ("collections", "OrderedDict")
            | ("builtins", "dict")
            | ("dnnlib.util", "EasyDict")
            | ("dnnlib", "EasyDict")
            | ("collections", "defaultdict")
    )
}

/// Key/value pairs of anything that behaves as a dict: a dict, a call of a mapping class (plus its SETITEMS),
/// a copyreg-reconstructed dict subclass, any object that received SETITEMS, and those through BUILD.
pub fn dict_items(v: &Value) -> Option<Vec<(&Value, &Value)>> {
    match v {
        Value::Dict(d) => Some(d.iter().map(|(k, x)| (k, x)).collect()),
        Value::Call(c) => {
            if !c.list_items.is_empty() {
                return None;
            }
            let g = c.func.as_global();
            // copyreg._reconstructor(cls, builtins.dict, state) — protocol 0/1 dict subclasses
            if g == Some(("copyreg", "_reconstructor")) {
                let a = c.args.as_seq()?;
                if a.len() == 3 && a[1].as_global() == Some(("builtins", "dict")) {
                    let mut items = match &a[2] {
                        Value::None => Vec::new(),
                        other => dict_items(other)?,
                    };
                    items.extend(c.dict_items.iter().map(|(k, x)| (k, x)));
                    return Some(items);
                }
                return None;
            }
            let known = g.is_some_and(|(m, n)| is_mapping_class(m, n));
            if known || (!c.dict_items.is_empty() && c.kind != CallKind::Inst) {
                let mut items: Vec<(&Value, &Value)> = Vec::new();
                // dict(mapping) / OrderedDict([(k, v), ...]) with REDUCE arguments
                if let Some(first) = c.args.as_seq().and_then(|a| a.first()) {
                    if known {
                        if let Some(d) = dict_items(first) {
                            items.extend(d);
                        } else if let Some(seq) = first.as_seq() {
                            for p in seq {
                                match p.as_seq() {
                                    Some([k, x]) => items.push((k, x)),
                                    _ => return None,
                                }
                            }
                        }
                    }
                }
                items.extend(c.dict_items.iter().map(|(k, x)| (k, x)));
                return Some(items);
            }
            None
        }
        Value::Build { obj, .. } => dict_items(obj),
        _ => None,
    }
}

/// Looks up a string key in a dict-like.
pub fn get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    dict_items(v)?
        .into_iter()
        .rev()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, x)| x)
}

/// Name of a dict key for paths and JSON.
fn key_name(k: &Value) -> String {
    match k {
        Value::Str(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => other.describe(),
    }
}

/// The `__dict__` of a pickled torch module, with its class `(module, name)` when known:
/// - `torch_utils.persistence._reconstruct_persistent_obj(meta)` (official StyleGAN2-ADA persistent classes):
///   `meta['state']`, class `meta['class_name']`;
/// - a plain module: `cls.__new__(cls)` (NEWOBJ) or `copyreg._reconstructor(cls, object, None)`, then BUILD
///   with a dict holding `_parameters` or `_modules`.
pub fn module_state(v: &Value) -> Option<(&Value, String)> {
    match v {
        Value::Call(c)
            if c.func.as_global()
                == Some(("torch_utils.persistence", "_reconstruct_persistent_obj")) =>
        {
            let meta = c.args.as_seq()?.first()?;
            let state = get(meta, "state")?;
            let class = get(meta, "class_name")
                .and_then(|x| x.as_str())
                .unwrap_or("?")
                .to_string();
            is_module_dict(state).then_some((state, class))
        }
        Value::Build { obj, state } if is_module_dict(state) => {
            let class = match &**obj {
                Value::Call(c) => match c.func.as_global() {
                    Some(("copyreg", "_reconstructor")) => c
                        .args
                        .as_seq()
                        .and_then(|a| a.first())
                        .and_then(|x| x.as_global())
                        .map(|(m, n)| format!("{m}.{n}")),
                    Some((m, n)) => Some(format!("{m}.{n}")),
                    None => None,
                },
                _ => None,
            };
            Some((state, class.unwrap_or_else(|| "?".into())))
        }
        _ => None,
    }
}

fn is_module_dict(state: &Value) -> bool {
    dict_items(state).is_some_and(|items| {
        items
            .iter()
            .any(|(k, _)| matches!(k.as_str(), Some("_parameters" | "_modules" | "_buffers")))
    })
}

/// Names in a module's `_non_persistent_buffers_set` (a set, or `builtins.set([...])` at protocol < 4).
fn non_persistent(state: &Value) -> Vec<String> {
    let Some(s) = get(state, "_non_persistent_buffers_set") else {
        return Vec::new();
    };
    let items: &[Value] = match s {
        Value::Set(v) | Value::FrozenSet(v) | Value::List(v) => v,
        Value::Call(c) if matches!(c.func.as_global(), Some(("builtins", "set" | "frozenset"))) => {
            c.args
                .as_seq()
                .and_then(|a| a.first())
                .and_then(|x| x.as_seq())
                .unwrap_or(&[])
        }
        _ => &[],
    };
    items
        .iter()
        .filter_map(|x| x.as_str().map(|s| s.to_string()))
        .collect()
}

/// torch `Module.state_dict()` of a module `__dict__`: parameters, then persistent buffers, then children, all
/// under `prefix`. Tensors must be recognised constructors; anything else in a tensor slot is an error naming it.
pub fn module_tensors<'s>(
    state: &'s Value,
    prefix: &str,
    reader: &mut TensorReader<'s, '_>,
    out: &mut BTreeMap<String, TensorData>,
) -> Result<()> {
    let skip = non_persistent(state);
    for (field, persistent_only) in [("_parameters", false), ("_buffers", true)] {
        let Some(d) = get(state, field) else { continue };
        let items = dict_items(d).ok_or_else(|| {
            Error::Tensor(format!(
                "{prefix}{field} must be a dict, found {}",
                d.describe()
            ))
        })?;
        for (k, t) in items {
            let name = key_name(k);
            if t.is_none() || (persistent_only && skip.contains(&name)) {
                continue;
            }
            let full = format!("{prefix}{name}");
            let td = reader.read(t).map_err(|e| with_context(e, &full))?;
            out.insert(full, td);
        }
    }
    if let Some(mods) = get(state, "_modules") {
        let items = dict_items(mods).ok_or_else(|| {
            Error::Tensor(format!(
                "{prefix}_modules must be a dict, found {}",
                mods.describe()
            ))
        })?;
        for (k, child) in items {
            if child.is_none() {
                continue;
            }
            let name = format!("{prefix}{}.", key_name(k));
            let (cstate, _) = module_state(child).ok_or_else(|| {
                Error::Tensor(format!(
                    "{}: expected a module, found {}",
                    show(name.trim_end_matches('.')),
                    child.describe()
                ))
            })?;
            module_tensors(cstate, &name, reader, out)?;
        }
    }
    Ok(())
}

/// Functions a network pickle calls (REDUCE / INST) that have a meaning here: containers, tensors and their
/// storages, numpy scalars and dtypes, torch modules, the official persistent objects.
fn is_known_call(m: &str, n: &str) -> bool {
    is_mapping_class(m, n)
        || matches!(
            (m, n),
            ("copyreg", "_reconstructor")
                | ("torch_utils.persistence", "_reconstruct_persistent_obj")
                | ("torch.storage", "_load_from_bytes")
                | ("torch", "Size")
                | ("torch", "device")
                | ("numpy", "dtype")
                | ("_codecs", "encode")
                | (
                    "builtins",
                    "bytes" | "bytearray" | "set" | "frozenset" | "slice" | "complex" | "object"
                )
        )
        || (m == "torch._utils" && n.starts_with("_rebuild_"))
        || (m == "torch._tensor" && n.starts_with("_rebuild_"))
        || ((m.starts_with("numpy.core.") || m.starts_with("numpy._core."))
            && matches!(n, "_reconstruct" | "scalar" | "_frombuffer"))
}

/// The first function the tree calls (REDUCE / INST) that no network pickle calls, as `module.name`: the
/// reason to refuse a pickle that is not a network (`os.system`, `builtins.eval`, ...). Nothing is ever
/// called; this only names what the file asked for. At most `budget` values are visited.
pub fn unknown_call(v: &Value) -> Option<String> {
    let mut stack = vec![v];
    let mut budget = 1_000_000usize;
    while let Some(v) = stack.pop() {
        budget = budget.checked_sub(1)?;
        match v {
            Value::Call(c) => {
                if c.kind != CallKind::NewObj {
                    if let Some((m, n)) = c.func.as_global() {
                        if !is_known_call(m, n) {
                            return Some(format!("{}.{}", show(m), show(n)));
                        }
                    }
                }
                stack.push(&c.func);
                stack.push(&c.args);
                stack.extend(c.kwargs.iter());
                stack.extend(c.list_items.iter());
                stack.extend(c.dict_items.iter().flat_map(|(k, x)| [k, x]));
            }
            Value::List(x) | Value::Tuple(x) | Value::Set(x) | Value::FrozenSet(x) => {
                stack.extend(x.iter().rev())
            }
            Value::Dict(d) => stack.extend(d.iter().rev().flat_map(|(k, x)| [x, k])),
            Value::Build { obj, state } => {
                stack.push(state);
                stack.push(obj);
            }
            Value::PersistentId(x) => stack.push(x),
            _ => {}
        }
    }
    None
}

/// Prefixes an error message with where it happened (keeping its kind).
pub(crate) fn with_context(e: Error, ctx: &str) -> Error {
    let c = show(ctx);
    match e {
        Error::Pickle(m) => Error::Pickle(format!("{c}: {m}")),
        Error::Limit(m) => Error::Limit(format!("{c}: {m}")),
        Error::Torch(m) => Error::Torch(format!("{c}: {m}")),
        Error::Tensor(m) => Error::Tensor(format!("{c}: {m}")),
        Error::Stylegan(m) => Error::Stylegan(format!("{c}: {m}")),
        Error::Safetensors(m) => Error::Safetensors(format!("{c}: {m}")),
        Error::Refused(m) => Error::Refused(m),
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Collects every tensor of a tree, named by path: dict keys, object attributes (TorchScript objects and
/// other BUILD states), list/tuple indices; torch modules use `state_dict()` names. Values that are neither
/// containers nor tensors (including unknown constructor calls) are skipped, never interpreted.
pub fn collect_tensors<'s>(
    v: &'s Value,
    prefix: &str,
    reader: &mut TensorReader<'s, '_>,
    out: &mut BTreeMap<String, TensorData>,
) -> Result<()> {
    if is_tensor(v) {
        let td = reader.read(v).map_err(|e| with_context(e, prefix))?;
        out.insert(prefix.to_string(), td);
        return Ok(());
    }
    if let Some((state, _)) = module_state(v) {
        let p = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}.")
        };
        return module_tensors(state, &p, reader, out);
    }
    if let Some(items) = dict_items(v) {
        for (k, x) in items {
            collect_tensors(x, &join(prefix, &key_name(k)), reader, out)?;
        }
        if let Value::Build { state, .. } = v {
            collect_tensors(state, prefix, reader, out)?;
        }
        return Ok(());
    }
    match v {
        Value::List(x) | Value::Tuple(x) => {
            for (i, it) in x.iter().enumerate() {
                collect_tensors(it, &join(prefix, &i.to_string()), reader, out)?;
            }
        }
        Value::Build { state, .. } => collect_tensors(state, prefix, reader, out)?,
        Value::Call(c) => {
            // list subclasses (e.g. TorchScript's build_tensorlist results)
            for (i, it) in c.list_items.iter().enumerate() {
                collect_tensors(it, &join(prefix, &i.to_string()), reader, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Plain data to JSON: numbers, bools, None → null, strings, dict-likes → objects (keys stringified),
/// lists/tuples/sets → arrays, globals → `"module.name"`. Other objects become
/// `{"__call__": "module.name", "args": [...]}`; non-finite floats become null; bytes `{"__bytes__": len}`.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    if let Some(items) = dict_items(v) {
        let mut m = serde_json::Map::new();
        for (k, x) in items {
            m.insert(key_name(k), to_json(x));
        }
        return J::Object(m);
    }
    match v {
        Value::None => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::BigInt(b) => J::String(format!(
            "0x{}",
            b.iter()
                .rev()
                .map(|x| format!("{x:02x}"))
                .collect::<String>()
        )),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Str(s) => J::String(s.to_string()),
        Value::Bytes(b) | Value::ByteArray(b) => serde_json::json!({ "__bytes__": b.len() }),
        Value::List(x) | Value::Tuple(x) | Value::Set(x) | Value::FrozenSet(x) => {
            J::Array(x.iter().map(to_json).collect())
        }
        Value::Dict(_) => unreachable!("handled as a dict-like"),
        Value::Global { module, name } => J::String(format!("{module}.{name}")),
        Value::Call(c) => {
            let f = match c.func.as_global() {
                Some((m, n)) => format!("{m}.{n}"),
                None => "?".into(),
            };
            serde_json::json!({ "__call__": f, "args": to_json(&c.args) })
        }
        Value::Build { obj, .. } => to_json(obj),
        Value::PersistentId(_) => J::String("<persistent id>".into()),
    }
}
