//! A pickle *interpreter* (protocols 0–5) that executes nothing.
//!
//! It runs the pickle virtual machine but every operation that would call Python code only records what would
//! have been called: globals stay symbolic ([`Value::Global`]), `REDUCE`/`NEWOBJ`/`NEWOBJ_EX`/`INST`/`OBJ`
//! become [`Value::Call`], `BUILD` becomes [`Value::Build`], persistent ids become [`Value::PersistentId`].
//! Giving those records a meaning (tensors, modules, numpy arrays) is the job of the other modules, which only
//! recognise a short list of constructors.
//!
//! Every resource the input can make us spend is bounded by [`Limits`]: declared lengths are checked against
//! the bytes actually present before anything is allocated, the memo, the stack and the number of values are
//! capped, and the final tree is at most [`Limits::max_nesting`] levels deep (so walking and dropping it cannot
//! overflow the native stack). Containers are built in a flat arena while the machine runs, so mutation of a
//! memoized container (`EMPTY_DICT MEMOIZE MARK … SETITEMS`, `APPENDS`, `BUILD`) is seen by every alias; the
//! arena is then expanded into an owned tree, with aliases copied and charged to the value budget (a memo
//! "billion laughs" runs out of budget instead of memory; cycles run out of nesting).

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{show, show_bytes, Error, Result};

/// Resource limits for reading untrusted files. The defaults accept real model files (hundreds of MB) and
/// reject hostile ones quickly with small allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted (bytes).
    pub max_input_bytes: usize,
    /// Largest single string / bytes object (bytes).
    pub max_string_bytes: usize,
    /// Total bytes of strings and bytes objects one pickle may materialise.
    pub max_total_bytes: usize,
    /// Most memo entries.
    pub max_memo_entries: usize,
    /// Most values on the stack plus open marks.
    pub max_stack_depth: usize,
    /// Deepest nesting of the value tree (containers, calls, builds).
    pub max_nesting: usize,
    /// Most values (stack pushes while running, nodes in the expanded tree). The budget actually used for a
    /// stream of `n` bytes is `min(max_elements, max(65_536, n))`: real files carry well under one value
    /// per byte (0.02 for StyleGAN snapshots, 0.36 for a TorchScript data.pkl), so only aliasing bombs and
    /// value-dense junk hit it. Memory is roughly 150 bytes per value at worst.
    pub max_elements: usize,
    /// How many levels of pickles nested inside pickles (`torch.storage._load_from_bytes`) are followed.
    pub max_nested_streams: usize,
    /// Most tensor elements (converted to f32) one file may produce. The budget actually used for a file of
    /// `n` bytes is `min(max_tensor_elements, max(4 Mi, 2 * n))`.
    pub max_tensor_elements: usize,
    /// Most elements a tensor may have beyond the elements of its storage (stride-0 broadcast views).
    pub max_broadcast_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 8 << 30,
            max_string_bytes: 4 << 30,
            max_total_bytes: 8 << 30,
            max_memo_entries: 1 << 22,
            max_stack_depth: 100_000,
            max_nesting: 256,
            max_elements: 1 << 21,
            max_nested_streams: 4,
            max_tensor_elements: 1 << 32,
            max_broadcast_elements: 1 << 24,
        }
    }
}

impl Limits {
    /// Value budget for a stream of `len` bytes.
    pub fn element_budget(&self, len: usize) -> usize {
        self.max_elements.min(len.max(1 << 16))
    }
    /// Tensor element budget for a file of `len` bytes.
    pub fn tensor_budget(&self, len: usize) -> usize {
        self.max_tensor_elements
            .min(len.saturating_mul(2).max(1 << 22))
    }
}

/// How a [`Call`] was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `REDUCE`: `func(*args)`.
    Reduce,
    /// `NEWOBJ` / `NEWOBJ_EX`: `cls.__new__(cls, *args, **kwargs)`.
    NewObj,
    /// Protocol 0/1 `INST` / `OBJ`: `cls(*args)`.
    Inst,
}

/// A recorded (never performed) call, plus the items the pickle appended to its result.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// What would have been called (usually a [`Value::Global`]).
    pub func: Value,
    /// Positional arguments (normally a [`Value::Tuple`]).
    pub args: Value,
    /// Keyword arguments (`NEWOBJ_EX` only).
    pub kwargs: Option<Value>,
    /// Which opcode recorded it.
    pub kind: CallKind,
    /// Items added to the result with `APPEND`/`APPENDS` (list subclasses).
    pub list_items: Vec<Value>,
    /// Items added to the result with `SETITEM`/`SETITEMS` (dict subclasses such as `OrderedDict`).
    pub dict_items: Vec<(Value, Value)>,
}

/// One value of the tree a pickle describes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer outside i64: little-endian two's-complement bytes.
    BigInt(Vec<u8>),
    Float(f64),
    Str(Arc<str>),
    Bytes(Arc<[u8]>),
    ByteArray(Arc<[u8]>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// Keys and values in insertion order (duplicates kept as written).
    Dict(Vec<(Value, Value)>),
    Set(Vec<Value>),
    FrozenSet(Vec<Value>),
    /// A reference to a Python object by name. Never resolved.
    Global {
        module: Arc<str>,
        name: Arc<str>,
    },
    /// A recorded constructor call.
    Call(Box<Call>),
    /// `BUILD`: `obj.__setstate__(state)` (or `obj.__dict__.update(state)`), recorded.
    Build {
        obj: Box<Value>,
        state: Box<Value>,
    },
    /// A persistent id (resolved by torch readers to storages).
    PersistentId(Box<Value>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(0) => Some(false),
            Value::Int(1) => Some(true),
            _ => None,
        }
    }
    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }
    /// `(module, name)` of a global.
    pub fn as_global(&self) -> Option<(&str, &str)> {
        match self {
            Value::Global { module, name } => Some((module, name)),
            _ => None,
        }
    }
    /// Elements of a list, tuple, set or frozenset.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) | Value::Set(v) | Value::FrozenSet(v) => Some(v),
            _ => None,
        }
    }
    /// The global a call or build ultimately calls (`a.b` of `a.b(...)`, looking through BUILD).
    pub fn constructor(&self) -> Option<(&str, &str)> {
        match self {
            Value::Call(c) => c.func.as_global(),
            Value::Build { obj, .. } => obj.constructor(),
            _ => None,
        }
    }
    /// A short one-line description for error messages.
    pub fn describe(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) | Value::BigInt(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Str(s) => format!("str '{}'", show(s)),
            Value::Bytes(b) => format!("bytes ({} bytes)", b.len()),
            Value::ByteArray(b) => format!("bytearray ({} bytes)", b.len()),
            Value::List(v) => format!("list of {}", v.len()),
            Value::Tuple(v) => format!("tuple of {}", v.len()),
            Value::Dict(v) => format!("dict of {}", v.len()),
            Value::Set(_) => "set".into(),
            Value::FrozenSet(_) => "frozenset".into(),
            Value::Global { module, name } => format!("global '{}.{}'", show(module), show(name)),
            Value::Call(c) => match c.func.as_global() {
                Some((m, n)) => format!("call of '{}.{}'", show(m), show(n)),
                None => "call of a non-global".into(),
            },
            Value::Build { obj, .. } => format!("built {}", obj.describe()),
            Value::PersistentId(_) => "persistent id".into(),
        }
    }
}

/// Parses one pickle from the start of `data` (bytes after its STOP are ignored).
pub fn parse(data: &[u8], limits: &Limits) -> Result<Value> {
    parse_prefix(data, limits).map(|(v, _)| v)
}

/// Parses one pickle from the start of `data`; returns it and the number of bytes it used (up to and including
/// STOP), for formats that concatenate pickles (torch's legacy stream).
pub fn parse_prefix(data: &[u8], limits: &Limits) -> Result<(Value, usize)> {
    if data.len() > limits.max_input_bytes {
        return Err(Error::Limit(format!(
            "input of {} bytes exceeds the limit of {} bytes",
            data.len(),
            limits.max_input_bytes
        )));
    }
    let mut m = Machine {
        data,
        pos: 0,
        op_pos: 0,
        limits,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        nodes: Vec::new(),
        depths: Vec::new(),
        bytes_used: 0,
        pushes: 0,
        budget: limits.element_budget(data.len()),
        proto: 0,
    };
    let root = m.run()?;
    let mut count = 0usize;
    let value = m.materialize(&root, 0, &mut count)?;
    Ok((value, m.pos))
}

// ---------------------------------------------------------------------------------------------------------
// The machine.

#[derive(Clone, Debug)]
enum Slot {
    /// A value without children (never a container, call, build or persistent id).
    V(Value),
    /// A node of the arena.
    N(u32),
}

#[derive(Debug)]
enum Node {
    List(Vec<Slot>),
    Tuple(Vec<Slot>),
    Dict(Vec<(Slot, Slot)>),
    Set(Vec<Slot>),
    FrozenSet(Vec<Slot>),
    Obj(Box<ObjNode>),
    Build { obj: Slot, states: Vec<Slot> },
    PersId(Slot),
}

#[derive(Debug)]
struct ObjNode {
    func: Slot,
    args: Slot,
    kwargs: Option<Slot>,
    kind: CallKind,
    list_items: Vec<Slot>,
    dict_items: Vec<(Slot, Slot)>,
    states: Vec<Slot>,
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    op_pos: usize,
    limits: &'a Limits,
    stack: Vec<Slot>,
    /// Stack lengths at each open MARK.
    marks: Vec<usize>,
    memo: HashMap<u64, Slot>,
    nodes: Vec<Node>,
    /// Nesting depth of each node as far as construction and direct mutation show (aliasing can hide
    /// more, which the expansion catches); lets chains like `) \x85 \x85 …` fail at once.
    depths: Vec<u32>,
    bytes_used: usize,
    pushes: usize,
    budget: usize,
    proto: u8,
}

impl<'a> Machine<'a> {
    fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::Pickle(format!("{msg} at byte {}", self.op_pos))
    }

    fn limit(&self, msg: impl std::fmt::Display) -> Error {
        Error::Limit(format!("pickle: {msg} at byte {}", self.op_pos))
    }

    fn truncated(&self) -> Error {
        Error::Pickle(format!(
            "truncated input (opcode at byte {} needs more bytes)",
            self.op_pos
        ))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.data.len() - self.pos {
            return Err(self.truncated());
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap()))
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(self.u32()? as i32)
    }
    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap()))
    }

    /// Reads up to (not including) the next newline, which is consumed.
    fn line(&mut self) -> Result<&'a [u8]> {
        let rest = &self.data[self.pos..];
        let max = self.limits.max_string_bytes.min(rest.len());
        match rest[..max].iter().position(|&b| b == b'\n') {
            Some(n) => {
                self.pos += n + 1;
                Ok(&rest[..n])
            }
            None if max < rest.len() => Err(self.limit("text line longer than the string limit")),
            None => Err(self.truncated()),
        }
    }

    /// Checks a declared length against the limits and the bytes present, then takes the bytes.
    fn sized(&mut self, len: u64) -> Result<&'a [u8]> {
        if len > self.limits.max_string_bytes as u64 {
            return Err(self.limit(format!(
                "declared length {len} exceeds the string limit of {} bytes",
                self.limits.max_string_bytes
            )));
        }
        if len > (self.data.len() - self.pos) as u64 {
            return Err(self.err(format!(
                "declared length {len} exceeds the {} bytes left in the input",
                self.data.len() - self.pos
            )));
        }
        self.charge_bytes(len as usize)?;
        self.take(len as usize)
    }

    fn charge_bytes(&mut self, n: usize) -> Result<()> {
        self.bytes_used = self.bytes_used.saturating_add(n);
        if self.bytes_used > self.limits.max_total_bytes {
            return Err(self.limit(format!(
                "more than {} bytes of strings materialised",
                self.limits.max_total_bytes
            )));
        }
        Ok(())
    }

    fn push(&mut self, s: Slot) -> Result<()> {
        self.pushes += 1;
        if self.pushes > self.budget {
            return Err(self.limit(format!("more than {} values pushed", self.budget)));
        }
        if self.stack.len() + self.marks.len() >= self.limits.max_stack_depth {
            return Err(self.limit(format!("stack deeper than {}", self.limits.max_stack_depth)));
        }
        self.stack.push(s);
        Ok(())
    }

    fn push_v(&mut self, v: Value) -> Result<()> {
        self.push(Slot::V(v))
    }

    fn depth_of(&self, s: &Slot) -> u32 {
        match s {
            Slot::V(_) => 0,
            Slot::N(i) => self.depths[*i as usize],
        }
    }

    fn max_depth<'x>(&self, it: impl Iterator<Item = &'x Slot>) -> u32 {
        it.map(|s| self.depth_of(s)).max().unwrap_or(0)
    }

    fn nesting_error(&self) -> Error {
        self.limit(format!(
            "values nested deeper than {} levels",
            self.limits.max_nesting
        ))
    }

    /// Records that node `i` now contains something `child` deep.
    fn deepen(&mut self, i: usize, child: u32) -> Result<()> {
        let d = child + 1;
        if d > self.depths[i] {
            if d as usize > self.limits.max_nesting {
                return Err(self.nesting_error());
            }
            self.depths[i] = d;
        }
        Ok(())
    }

    /// Each BUILD wraps the object in one more level: `Build { obj: <previous>, state }`.
    fn wrap_build(&mut self, i: usize, state: &Slot) -> Result<()> {
        let d = 1 + self.depths[i].max(self.depth_of(state));
        if d as usize > self.limits.max_nesting {
            return Err(self.nesting_error());
        }
        self.depths[i] = d;
        Ok(())
    }

    fn push_node(&mut self, n: Node) -> Result<()> {
        if self.nodes.len() >= u32::MAX as usize {
            return Err(self.limit("too many containers"));
        }
        let child = match &n {
            Node::List(v) | Node::Tuple(v) | Node::Set(v) | Node::FrozenSet(v) => {
                self.max_depth(v.iter())
            }
            Node::Dict(v) => self.max_depth(v.iter().flat_map(|(a, b)| [a, b])),
            Node::Obj(o) => self.max_depth([&o.func, &o.args].into_iter().chain(o.kwargs.iter())),
            Node::Build { obj, states } => {
                self.max_depth(std::iter::once(obj).chain(states.iter()))
            }
            Node::PersId(p) => self.depth_of(p),
        };
        if child as usize + 1 > self.limits.max_nesting {
            return Err(self.nesting_error());
        }
        self.depths.push(child + 1);
        self.nodes.push(n);
        let id = (self.nodes.len() - 1) as u32;
        self.push(Slot::N(id))
    }

    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> Result<Slot> {
        if self.stack.len() <= self.floor() {
            return Err(self.err("stack underflow"));
        }
        Ok(self.stack.pop().unwrap())
    }

    fn top(&self) -> Result<&Slot> {
        if self.stack.len() <= self.floor() {
            return Err(self.err("stack underflow"));
        }
        Ok(self.stack.last().unwrap())
    }

    fn pop_mark(&mut self) -> Result<Vec<Slot>> {
        match self.marks.pop() {
            Some(m) => Ok(self.stack.split_off(m)),
            None => Err(self.err("MARK expected but none is open")),
        }
    }

    fn memo_put(&mut self, key: u64) -> Result<()> {
        let v = self.top()?.clone();
        if !self.memo.contains_key(&key) && self.memo.len() >= self.limits.max_memo_entries {
            return Err(self.limit(format!(
                "more than {} memo entries",
                self.limits.max_memo_entries
            )));
        }
        self.memo.insert(key, v);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<()> {
        match self.memo.get(&key) {
            Some(v) => {
                let v = v.clone();
                self.push(v)
            }
            None => Err(self.err(format!("memo key {key} is missing"))),
        }
    }

    fn text_int(&self, line: &[u8]) -> Result<u64> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| self.err(format!("bad memo index '{}'", show_bytes(line))))
    }

    fn str_value(&mut self, bytes: &[u8]) -> Result<Value> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Value::Str(Arc::from(s))),
            Err(_) => Err(self.err("string is not valid UTF-8")),
        }
    }

    /// Target of APPEND/SETITEM…: the node below the popped items.
    fn target_node(&self) -> Result<usize> {
        match self.top()? {
            Slot::N(i) => Ok(*i as usize),
            Slot::V(v) => Err(self.err(format!("cannot add items to {}", v.describe()))),
        }
    }

    fn append(&mut self, items: Vec<Slot>) -> Result<()> {
        let t = self.target_node()?;
        let d = self.max_depth(items.iter());
        self.deepen(t, d)?;
        let op = self.op_pos;
        match &mut self.nodes[t] {
            Node::List(v) => v.extend(items),
            Node::Obj(o) => o.list_items.extend(items),
            other => {
                let kind = node_kind(other);
                return Err(Error::Pickle(format!(
                    "cannot append to a {kind} at byte {op}"
                )));
            }
        }
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Slot>) -> Result<()> {
        if !items.len().is_multiple_of(2) {
            return Err(self.err("odd number of items for SETITEMS"));
        }
        let t = self.target_node()?;
        let d = self.max_depth(items.iter());
        self.deepen(t, d)?;
        let op = self.op_pos;
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        match &mut self.nodes[t] {
            Node::Dict(d) => d.extend(pairs),
            Node::Obj(o) => o.dict_items.extend(pairs),
            other => {
                let kind = node_kind(other);
                return Err(Error::Pickle(format!(
                    "cannot set items on a {kind} at byte {op}"
                )));
            }
        }
        Ok(())
    }

    fn global(&mut self, module: &str, name: &str) -> Result<()> {
        // Protocol 0-2 pickles written by Python 3 use Python 2 module names for builtins (fix_imports).
        let module = if self.proto < 3 {
            match module {
                "__builtin__" => "builtins",
                "copy_reg" => "copyreg",
                m => m,
            }
        } else {
            module
        };
        self.charge_bytes(module.len() + name.len())?;
        self.push_v(Value::Global {
            module: Arc::from(module),
            name: Arc::from(name),
        })
    }

    fn call(&mut self, func: Slot, args: Slot, kwargs: Option<Slot>, kind: CallKind) -> Result<()> {
        self.push_node(Node::Obj(Box::new(ObjNode {
            func,
            args,
            kwargs,
            kind,
            list_items: Vec::new(),
            dict_items: Vec::new(),
            states: Vec::new(),
        })))
    }

    fn run(&mut self) -> Result<Slot> {
        loop {
            self.op_pos = self.pos;
            if self.pos >= self.data.len() {
                return Err(Error::Pickle(format!(
                    "truncated input: no STOP opcode before the end (byte {})",
                    self.pos
                )));
            }
            let op = self.u8()?;
            match op {
                b'.' => {
                    // STOP
                    let v = self.pop()?;
                    return Ok(v);
                }
                b'(' => {
                    if self.stack.len() + self.marks.len() >= self.limits.max_stack_depth {
                        return Err(self
                            .limit(format!("stack deeper than {}", self.limits.max_stack_depth)));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    // POP: pops the top, or an empty mark.
                    if self.stack.len() > self.floor() {
                        self.stack.pop();
                    } else {
                        self.pop_mark()?;
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.push(v)?;
                }
                // --- numbers
                b'N' => self.push_v(Value::None)?,
                0x88 => self.push_v(Value::Bool(true))?,
                0x89 => self.push_v(Value::Bool(false))?,
                b'J' => {
                    let v = self.i32()?;
                    self.push_v(Value::Int(v as i64))?
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push_v(Value::Int(v as i64))?
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push_v(Value::Int(v as i64))?
                }
                b'I' => {
                    let line = self.line()?;
                    let v = match line {
                        b"00" => Value::Bool(false),
                        b"01" => Value::Bool(true),
                        _ => self.text_long(line)?,
                    };
                    self.push_v(v)?
                }
                b'L' => {
                    let line = self.line()?;
                    let line = line.strip_suffix(b"L").unwrap_or(line);
                    let v = self.text_long(line)?;
                    self.push_v(v)?
                }
                0x8a => {
                    let n = self.u8()? as u64;
                    let b = self.sized(n)?;
                    self.push_v(decode_long(b))?
                }
                0x8b => {
                    let n = self.i32()?;
                    if n < 0 {
                        return Err(self.err("LONG4 with a negative byte count"));
                    }
                    let b = self.sized(n as u64)?;
                    self.push_v(decode_long(b))?
                }
                b'G' => {
                    let b = self.take(8)?;
                    self.push_v(Value::Float(f64::from_be_bytes(b.try_into().unwrap())))?
                }
                b'F' => {
                    let line = self.line()?;
                    let v = std::str::from_utf8(line)
                        .ok()
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .ok_or_else(|| self.err(format!("bad FLOAT '{}'", show_bytes(line))))?;
                    self.push_v(Value::Float(v))?
                }
                // --- strings and bytes
                b'X' => {
                    let n = self.u32()? as u64;
                    let b = self.sized(n)?;
                    let v = self.str_value(b)?;
                    self.push_v(v)?
                }
                0x8c => {
                    let n = self.u8()? as u64;
                    let b = self.sized(n)?;
                    let v = self.str_value(b)?;
                    self.push_v(v)?
                }
                0x8d => {
                    let n = self.u64()?;
                    let b = self.sized(n)?;
                    let v = self.str_value(b)?;
                    self.push_v(v)?
                }
                b'V' => {
                    let line = self.line()?;
                    self.charge_bytes(line.len() * 2)?;
                    let s = raw_unicode_escape(line).map_err(|e| self.err(e))?;
                    self.push_v(Value::Str(Arc::from(s)))?
                }
                b'B' => {
                    let n = self.u32()? as u64;
                    let b = self.sized(n)?;
                    self.push_v(Value::Bytes(Arc::from(b)))?
                }
                b'C' => {
                    let n = self.u8()? as u64;
                    let b = self.sized(n)?;
                    self.push_v(Value::Bytes(Arc::from(b)))?
                }
                0x8e => {
                    let n = self.u64()?;
                    let b = self.sized(n)?;
                    self.push_v(Value::Bytes(Arc::from(b)))?
                }
                0x96 => {
                    let n = self.u64()?;
                    let b = self.sized(n)?;
                    self.push_v(Value::ByteArray(Arc::from(b)))?
                }
                b'T' => {
                    let n = self.i32()?;
                    if n < 0 {
                        return Err(self.err("BINSTRING with a negative length"));
                    }
                    let b = self.sized(n as u64)?;
                    self.push_v(py2_str(b))?
                }
                b'U' => {
                    let n = self.u8()? as u64;
                    let b = self.sized(n)?;
                    self.push_v(py2_str(b))?
                }
                b'S' => {
                    let line = self.line()?;
                    let inner = match line {
                        [q, inner @ .., q2] if q == q2 && (*q == b'\'' || *q == b'"') => inner,
                        _ => return Err(self.err("STRING argument is not quoted")),
                    };
                    self.charge_bytes(inner.len())?;
                    let b = escape_decode(inner).map_err(|e| self.err(e))?;
                    self.push_v(py2_str(&b))?
                }
                // --- containers
                b']' => self.push_node(Node::List(Vec::new()))?,
                b'}' => self.push_node(Node::Dict(Vec::new()))?,
                b')' => self.push_node(Node::Tuple(Vec::new()))?,
                0x8f => self.push_node(Node::Set(Vec::new()))?,
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push_node(Node::List(items))?
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push_node(Node::Tuple(items))?
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push_node(Node::FrozenSet(items))?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < self.floor() + n {
                        return Err(self.err("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push_node(Node::Tuple(items))?
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    if !items.len().is_multiple_of(2) {
                        return Err(self.err("odd number of items for DICT"));
                    }
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    self.push_node(Node::Dict(pairs))?
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?
                }
                0x90 => {
                    let items = self.pop_mark()?;
                    let t = self.target_node()?;
                    let d = self.max_depth(items.iter());
                    self.deepen(t, d)?;
                    match &mut self.nodes[t] {
                        Node::Set(s) => s.extend(items),
                        _ => return Err(self.err("ADDITEMS target is not a set")),
                    }
                }
                // --- globals and calls
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let module = std::str::from_utf8(module)
                        .map_err(|_| self.err("GLOBAL module is not UTF-8"))?;
                    let name = std::str::from_utf8(name)
                        .map_err(|_| self.err("GLOBAL name is not UTF-8"))?;
                    self.global(module, name)?
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Slot::V(Value::Str(m)), Slot::V(Value::Str(n))) => self.global(&m, &n)?,
                        _ => return Err(self.err("STACK_GLOBAL needs two strings")),
                    }
                }
                b'i' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let module = std::str::from_utf8(module)
                        .map_err(|_| self.err("INST module is not UTF-8"))?;
                    let name = std::str::from_utf8(name)
                        .map_err(|_| self.err("INST name is not UTF-8"))?;
                    let args = self.pop_mark()?;
                    self.global(module, name)?;
                    let func = self.stack.pop().unwrap();
                    self.push_node(Node::Tuple(args))?;
                    let args = self.stack.pop().unwrap();
                    self.call(func, args, None, CallKind::Inst)?
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err(self.err("OBJ without a class"));
                    }
                    let args: Vec<Slot> = items.split_off(1);
                    let func = items.pop().unwrap();
                    self.push_node(Node::Tuple(args))?;
                    let args = self.stack.pop().unwrap();
                    self.call(func, args, None, CallKind::Inst)?
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    self.call(func, args, None, CallKind::Reduce)?
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.call(cls, args, None, CallKind::NewObj)?
                }
                0x92 => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.call(cls, args, Some(kwargs), CallKind::NewObj)?
                }
                b'b' => {
                    let state = self.pop()?;
                    let top = self.top()?.clone();
                    match top {
                        Slot::N(i) => match &mut self.nodes[i as usize] {
                            Node::Obj(o) => {
                                o.states.push(state.clone());
                                self.wrap_build(i as usize, &state)?
                            }
                            Node::Build { states, .. } => {
                                states.push(state.clone());
                                self.wrap_build(i as usize, &state)?
                            }
                            _ => {
                                self.stack.pop();
                                self.pushes -= 1; // a replacement, not a new value
                                self.push_node(Node::Build {
                                    obj: Slot::N(i),
                                    states: vec![state],
                                })?
                            }
                        },
                        Slot::V(v) => {
                            self.stack.pop();
                            self.pushes -= 1;
                            self.push_node(Node::Build {
                                obj: Slot::V(v),
                                states: vec![state],
                            })?
                        }
                    }
                }
                b'P' => {
                    let line = self.line()?;
                    let s =
                        std::str::from_utf8(line).map_err(|_| self.err("PERSID is not ASCII"))?;
                    self.charge_bytes(s.len())?;
                    let pid = Slot::V(Value::Str(Arc::from(s)));
                    self.push_node(Node::PersId(pid))?
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.push_node(Node::PersId(pid))?
                }
                // --- memo
                b'g' => {
                    let line = self.line()?;
                    let k = self.text_int(line)?;
                    self.memo_get(k)?
                }
                b'h' => {
                    let k = self.u8()? as u64;
                    self.memo_get(k)?
                }
                b'j' => {
                    let k = self.u32()? as u64;
                    self.memo_get(k)?
                }
                b'p' => {
                    let line = self.line()?;
                    let k = self.text_int(line)?;
                    self.memo_put(k)?
                }
                b'q' => {
                    let k = self.u8()? as u64;
                    self.memo_put(k)?
                }
                b'r' => {
                    let k = self.u32()? as u64;
                    self.memo_put(k)?
                }
                0x94 => {
                    let k = self.memo.len() as u64;
                    self.memo_put(k)?
                }
                // --- framing
                0x80 => {
                    let v = self.u8()?;
                    if v > 5 {
                        return Err(self.err(format!("unsupported pickle protocol {v}")));
                    }
                    self.proto = v;
                }
                0x95 => {
                    let n = self.u64()?;
                    if n > (self.data.len() - self.pos) as u64 {
                        return Err(self.err(format!("FRAME of {n} bytes exceeds the input")));
                    }
                }
                0x82..=0x84 => {
                    return Err(self.err(format!(
                        "unsupported opcode 0x{op:02x} (copyreg extension registry)"
                    )))
                }
                0x97 => {
                    return Err(
                        self.err("unsupported opcode 0x97 (NEXT_BUFFER: out-of-band buffers)")
                    )
                }
                0x98 => match self.top()? {
                    Slot::V(Value::Bytes(_)) | Slot::V(Value::ByteArray(_)) => {}
                    _ => return Err(self.err("READONLY_BUFFER on a value that is not a buffer")),
                },
                _ => return Err(self.err(format!("unsupported opcode 0x{op:02x}"))),
            }
        }
    }

    fn text_long(&self, line: &[u8]) -> Result<Value> {
        let s = std::str::from_utf8(line)
            .map_err(|_| self.err("integer is not ASCII"))?
            .trim();
        if let Ok(v) = s.parse::<i64>() {
            return Ok(Value::Int(v));
        }
        parse_big_decimal(s).ok_or_else(|| self.err(format!("bad integer '{}'", show(s))))
    }

    // -----------------------------------------------------------------------------------------------------
    // Expansion of the arena into an owned tree.

    fn materialize(&self, s: &Slot, depth: usize, count: &mut usize) -> Result<Value> {
        *count += 1;
        if *count > self.budget {
            return Err(Error::Limit(format!(
                "pickle: expands to more than {} values (aliasing bomb?)",
                self.budget
            )));
        }
        let i = match s {
            Slot::V(v) => return Ok(v.clone()),
            Slot::N(i) => *i as usize,
        };
        if depth >= self.limits.max_nesting {
            return Err(nesting_err(self.limits));
        }
        let d = depth + 1;
        let seq = |v: &[Slot], count: &mut usize| -> Result<Vec<Value>> {
            v.iter().map(|x| self.materialize(x, d, count)).collect()
        };
        let pairs = |v: &[(Slot, Slot)], count: &mut usize| -> Result<Vec<(Value, Value)>> {
            v.iter()
                .map(|(k, x)| {
                    Ok((
                        self.materialize(k, d, count)?,
                        self.materialize(x, d, count)?,
                    ))
                })
                .collect()
        };
        Ok(match &self.nodes[i] {
            Node::List(v) => Value::List(seq(v, count)?),
            Node::Tuple(v) => Value::Tuple(seq(v, count)?),
            Node::Set(v) => Value::Set(seq(v, count)?),
            Node::FrozenSet(v) => Value::FrozenSet(seq(v, count)?),
            Node::Dict(v) => Value::Dict(pairs(v, count)?),
            Node::PersId(p) => Value::PersistentId(Box::new(self.materialize(p, d, count)?)),
            Node::Obj(o) => {
                let ObjNode {
                    func,
                    args,
                    kwargs,
                    kind,
                    list_items,
                    dict_items,
                    states,
                } = &**o;
                if depth + states.len() >= self.limits.max_nesting {
                    return Err(nesting_err(self.limits));
                }
                let mut v = Value::Call(Box::new(Call {
                    func: self.materialize(func, d, count)?,
                    args: self.materialize(args, d, count)?,
                    kwargs: match kwargs {
                        Some(k) => Some(self.materialize(k, d, count)?),
                        None => None,
                    },
                    kind: *kind,
                    list_items: seq(list_items, count)?,
                    dict_items: pairs(dict_items, count)?,
                }));
                for st in states {
                    v = Value::Build {
                        obj: Box::new(v),
                        state: Box::new(self.materialize(st, d, count)?),
                    };
                }
                v
            }
            Node::Build { obj, states } => {
                if depth + states.len() >= self.limits.max_nesting {
                    return Err(nesting_err(self.limits));
                }
                let mut v = self.materialize(obj, d, count)?;
                for st in states {
                    v = Value::Build {
                        obj: Box::new(v),
                        state: Box::new(self.materialize(st, d, count)?),
                    };
                }
                v
            }
        })
    }
}

fn nesting_err(limits: &Limits) -> Error {
    Error::Limit(format!(
        "pickle: values nested deeper than {} levels (or a reference cycle)",
        limits.max_nesting
    ))
}

fn node_kind(n: &Node) -> &'static str {
    match n {
        Node::List(_) => "list",
        Node::Tuple(_) => "tuple",
        Node::Dict(_) => "dict",
        Node::Set(_) => "set",
        Node::FrozenSet(_) => "frozenset",
        Node::Obj(_) => "object",
        Node::Build { .. } => "built object",
        Node::PersId(_) => "persistent id",
    }
}

/// Python 2 `str` objects: text when ASCII, bytes otherwise.
fn py2_str(b: &[u8]) -> Value {
    if b.is_ascii() {
        Value::Str(Arc::from(std::str::from_utf8(b).unwrap()))
    } else {
        Value::Bytes(Arc::from(b))
    }
}

/// Little-endian two's-complement integer (LONG1/LONG4).
fn decode_long(b: &[u8]) -> Value {
    if b.is_empty() {
        return Value::Int(0);
    }
    let neg = b[b.len() - 1] & 0x80 != 0;
    let fill = if neg { 0xff } else { 0 };
    if b.len() > 8 && b[8..].iter().any(|&x| x != fill) {
        return Value::BigInt(trim_sign_bytes(b.to_vec()));
    }
    let mut buf = [fill; 8];
    let n = b.len().min(8);
    buf[..n].copy_from_slice(&b[..n]);
    let v = i64::from_le_bytes(buf);
    // The 8th byte's sign must agree with the fill for the value to fit.
    if b.len() > 8 && ((v < 0) != neg) {
        return Value::BigInt(trim_sign_bytes(b.to_vec()));
    }
    Value::Int(v)
}

/// Removes redundant leading sign bytes (the minimal form CPython writes).
fn trim_sign_bytes(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.len() > 1 {
        let last = bytes[bytes.len() - 1];
        let prev_sign = bytes[bytes.len() - 2] & 0x80 != 0;
        if (last == 0 && !prev_sign) || (last == 0xff && prev_sign) {
            bytes.pop();
        } else {
            break;
        }
    }
    bytes
}

/// Decimal text to an integer value (i64 or little-endian two's complement). At most 4300 digits, like CPython.
fn parse_big_decimal(s: &str) -> Option<Value> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 4300 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Magnitude in base 2^32 limbs, little-endian.
    let mut limbs: Vec<u32> = vec![0];
    for chunk in digits.as_bytes().chunks(9) {
        let mul = 10u64.pow(chunk.len() as u32);
        let add: u64 = chunk.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64);
        let mut carry = add;
        for l in limbs.iter_mut() {
            let t = (*l as u64) * mul + carry;
            *l = t as u32;
            carry = t >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    let mut bytes: Vec<u8> = limbs.iter().flat_map(|l| l.to_le_bytes()).collect();
    bytes.push(0); // room for the sign bit
    if neg {
        // two's complement: invert and add one
        let mut carry = true;
        for b in bytes.iter_mut() {
            *b = !*b;
            if carry {
                let (nb, c) = b.overflowing_add(1);
                *b = nb;
                carry = c;
            }
        }
    }
    Some(decode_long(&trim_sign_bytes(bytes)))
}

/// Python's `codecs.escape_decode` (the STRING opcode's argument).
fn escape_decode(s: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = s.get(i) else {
            return Err("STRING ends with a lone backslash".into());
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'x' => {
                let h = s.get(i..i + 2).ok_or("STRING has a truncated \\x escape")?;
                let v = std::str::from_utf8(h)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("STRING has an invalid \\x escape")?;
                out.push(v);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v: u32 = (e - b'0') as u32;
                let mut n = 1;
                while n < 3 && i < s.len() && (b'0'..=b'7').contains(&s[i]) {
                    v = v * 8 + (s[i] - b'0') as u32;
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// Python's `raw-unicode-escape` decoder (the UNICODE opcode's argument).
fn raw_unicode_escape(s: &[u8]) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i] as char); // latin-1
            i += 1;
            continue;
        }
        let start = i;
        while i < s.len() && s[i] == b'\\' {
            i += 1;
        }
        let run = i - start;
        let esc = run % 2 == 1 && i < s.len() && (s[i] == b'u' || s[i] == b'U');
        let literal = if esc { run - 1 } else { run };
        out.extend(std::iter::repeat_n('\\', literal));
        if esc {
            let n = if s[i] == b'u' { 4 } else { 8 };
            let h = s
                .get(i + 1..i + 1 + n)
                .ok_or("UNICODE has a truncated \\u escape")?;
            let cp = std::str::from_utf8(h)
                .ok()
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or("UNICODE has an invalid \\u escape")?;
            out.push(char::from_u32(cp).ok_or("UNICODE escape is not a valid character")?);
            i += 1 + n;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(b: &[u8]) -> Result<Value> {
        parse(b, &Limits::default())
    }

    #[test]
    fn longs() {
        assert_eq!(decode_long(&[]), Value::Int(0));
        assert_eq!(decode_long(&[0xff]), Value::Int(-1));
        assert_eq!(decode_long(&[0x00, 0x80]), Value::Int(-32768));
        assert_eq!(decode_long(&[0xff, 0x00]), Value::Int(255));
        let max = i64::MAX.to_le_bytes();
        assert_eq!(decode_long(&max), Value::Int(i64::MAX));
        // 2**63 needs 9 bytes
        let mut b = vec![0u8; 9];
        b[7] = 0x80;
        assert_eq!(decode_long(&b), Value::BigInt(b.clone()));
        // -1 written with redundant bytes
        assert_eq!(decode_long(&[0xff; 12]), Value::Int(-1));
        assert_eq!(parse_big_decimal("-1"), Some(Value::Int(-1)));
        assert_eq!(
            parse_big_decimal("9223372036854775808"),
            Some(Value::BigInt(b))
        );
        assert_eq!(
            parse_big_decimal("-9223372036854775808"),
            Some(Value::Int(i64::MIN))
        );
        assert_eq!(
            parse_big_decimal("-9223372036854775809"),
            Some(Value::BigInt(vec![
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff
            ]))
        );
        assert_eq!(parse_big_decimal("12x"), None);
    }

    #[test]
    fn protocol0_and_1_opcodes() {
        // pickle.dumps([1, 'a\u00e9', 2.5, True, None, (3,), 2**70], protocol=0) from CPython 3.11
        let data =
            b"(lp0\nI1\naVa\xe9\np1\naF2.5\naI01\naNa(I3\ntp2\naL1180591620717411303424L\na.";
        let v = p(data).unwrap();
        let Value::List(items) = v else {
            panic!("not a list")
        };
        assert_eq!(items[0], Value::Int(1));
        assert_eq!(items[1].as_str(), Some("a\u{e9}"));
        assert_eq!(items[2], Value::Float(2.5));
        assert_eq!(items[3], Value::Bool(true));
        assert_eq!(items[4], Value::None);
        assert_eq!(items[5], Value::Tuple(vec![Value::Int(3)]));
        let mut big = vec![0u8; 9];
        big[8] = 0x40;
        assert_eq!(items[6], Value::BigInt(big));
        // the same list with protocol=1
        let data1 = b"]q\x00(K\x01X\x03\x00\x00\x00a\xc3\xa9q\x01G@\x04\x00\x00\x00\x00\x00\x00I01\nN(K\x03tq\x02L1180591620717411303424L\ne.";
        assert_eq!(p(data1).unwrap(), Value::List(items));
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_decode(br"a\n\x41\101\\").unwrap(), b"a\nAA\\");
        assert_eq!(raw_unicode_escape(br"x\u00e9\\u").unwrap(), "x\u{e9}\\\\u");
        assert!(raw_unicode_escape(br"\ud800").is_err());
        // STRING opcode, quoted with escapes
        assert_eq!(p(b"S'it\\'s'\n.").unwrap().as_str(), Some("it's"));
    }

    #[test]
    fn memo_alias_sees_later_mutation() {
        // l = []; d = {}; l.append(d); then (through a memo GET of d) SETITEMS {'k': 1}; l.append(d)
        let data = b"\x80\x04]\x94}\x94ah\x01(\x8c\x01kK\x01ua.";
        let v = p(data).unwrap();
        let Value::List(items) = v else { panic!() };
        assert_eq!(items.len(), 2);
        for it in &items {
            assert_eq!(
                it,
                &Value::Dict(vec![(Value::Str("k".into()), Value::Int(1))])
            );
        }
    }

    #[test]
    fn errors_are_one_line_and_positioned() {
        let e = p(b"\x80\x04\x93.").unwrap_err().to_string();
        assert_eq!(e, "pickle: stack underflow at byte 2");
        let e = p(b"\x80\x04\xff.").unwrap_err().to_string();
        assert_eq!(e, "pickle: unsupported opcode 0xff at byte 2");
        let e = p(b"\x80\x05\x97.").unwrap_err().to_string();
        assert!(e.contains("NEXT_BUFFER"), "{e}");
        let e = p(b"\x80\x02\x82\x01.").unwrap_err().to_string();
        assert!(e.contains("extension registry"), "{e}");
        let e = p(b"\x80\x06N.").unwrap_err().to_string();
        assert!(e.contains("protocol 6"), "{e}");
        let e = p(b"N").unwrap_err().to_string();
        assert!(e.contains("no STOP"), "{e}");
    }

    #[test]
    fn cycle_is_a_nesting_error() {
        // l = []; l.append(l)
        let data = b"\x80\x04]\x94h\x00a.";
        let e = p(data).unwrap_err().to_string();
        assert!(e.contains("nested deeper"), "{e}");
    }

    #[test]
    fn huge_declared_length_fails_before_allocating() {
        let mut data = b"\x80\x04\x8e".to_vec();
        data.extend_from_slice(&(u64::MAX / 2).to_le_bytes());
        data.extend_from_slice(b"abc.");
        let e = p(&data).unwrap_err().to_string();
        assert!(e.contains("declared length"), "{e}");
        let mut data = b"\x80\x04\x8e".to_vec();
        data.extend_from_slice(&1000u64.to_le_bytes());
        data.extend_from_slice(b"abc.");
        let e = p(&data).unwrap_err().to_string();
        assert!(e.contains("exceeds the 4 bytes left"), "{e}");
    }

    #[test]
    fn build_on_memoized_object_is_seen_through_alias() {
        // obj = C.__new__(C); memoize; BUILD {'a': 1}; list [obj, memo obj]
        let data = b"\x80\x04]\x94(\x8c\x01m\x8c\x01C\x93)\x81\x94}\x8c\x01aK\x01sbh\x01e.";
        let v = p(data).unwrap();
        let Value::List(items) = v else { panic!() };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0], items[1]);
        assert!(
            matches!(&items[1], Value::Build { state, .. } if matches!(**state, Value::Dict(_)))
        );
    }
}
