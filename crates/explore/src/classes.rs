//! Classes of a conditional network: the names a model file records (bestiary snapshots store
//! dataset.json's `classes` as `training_set_kwargs.class_names`), and `--class` given as a name or an
//! index, resolved to the index whose one-hot label the mapping network takes.

use crate::{invalid, Result};
use bestiary_stylegan::ModelFile;

/// The class names a model file records (index = label), when it records as many as `c_dim`.
pub fn class_names(model: &ModelFile, c_dim: usize) -> Option<Vec<String>> {
    let list = model
        .training_set_kwargs
        .as_ref()?
        .get("class_names")?
        .as_array()?;
    let names: Vec<String> = list
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<_>>()?;
    (names.len() == c_dim && c_dim > 0).then_some(names)
}

/// The classes as `0 (cat), 1 (dog)`, or `0-9` without names (long lists cut after 20).
pub fn describe_classes(c_dim: usize, names: Option<&[String]>) -> String {
    match names {
        Some(n) => {
            let mut parts: Vec<String> = n
                .iter()
                .take(20)
                .enumerate()
                .map(|(i, s)| format!("{i} ({s})"))
                .collect();
            if n.len() > 20 {
                parts.push(format!("… {} in all", n.len()));
            }
            parts.join(", ")
        }
        None => format!("0-{}", c_dim.saturating_sub(1)),
    }
}

/// The class index of `spec` (a recorded name, matched first, or an index) for a network with
/// `c_dim` classes. None for an unconditional network (where a class is meaningless: callers warn).
/// Errors name the valid classes.
pub fn resolve_class(
    spec: Option<&str>,
    c_dim: usize,
    names: Option<&[String]>,
) -> Result<Option<usize>> {
    if c_dim == 0 {
        return Ok(None);
    }
    let Some(spec) = spec.map(str::trim) else {
        return invalid(format!(
            "this network is conditional: choose a class with --class (one of {})",
            describe_classes(c_dim, names)
        ));
    };
    if let Some(i) = names.and_then(|n| n.iter().position(|s| s == spec)) {
        return Ok(Some(i));
    }
    match spec.parse::<usize>() {
        Ok(i) if i < c_dim => Ok(Some(i)),
        Ok(i) => invalid(format!("class {i} is out of range: this network's classes are {}", describe_classes(c_dim, names))),
        Err(_) if names.is_some() => {
            invalid(format!("no class named '{spec}': this network's classes are {}", describe_classes(c_dim, names)))
        }
        Err(_) => invalid(format!(
            "'{spec}' is not a class index, and this model file records no class names: its classes are {}",
            describe_classes(c_dim, names)
        )),
    }
}
