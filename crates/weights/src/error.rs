//! The single error type of this crate. Every message is one line: text taken from the (untrusted) input is
//! escaped and shortened before it is put into a message.

/// Everything that can go wrong while reading a weight file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Malformed or unsupported pickle stream.
    #[error("pickle: {0}")]
    Pickle(String),
    /// A resource limit (input size, memo, stack, nesting, bytes, elements) was exceeded.
    #[error("limit: {0}")]
    Limit(String),
    /// A torch container (legacy stream or zip archive) is malformed.
    #[error("torch: {0}")]
    Torch(String),
    /// A tensor description is inconsistent (shape, stride, storage, dtype).
    #[error("tensor: {0}")]
    Tensor(String),
    /// The value tree does not have the shape of an official StyleGAN2-ADA network pickle.
    #[error("stylegan pkl: {0}")]
    Stylegan(String),
    /// A pickle calls a function no weight file calls (`os.system`, ...): named, refused, never executed.
    #[error("refused: {0}")]
    Refused(String),
    /// A safetensors file is malformed, or a tensor cannot be written.
    #[error("safetensors: {0}")]
    Safetensors(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

/// Escapes and shortens untrusted text for use inside a one-line error message.
pub(crate) fn show(s: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n >= MAX {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out
}

/// Same as [`show`] for bytes (lossy UTF-8).
pub(crate) fn show_bytes(b: &[u8]) -> String {
    let cut = &b[..b.len().min(120)];
    show(&String::from_utf8_lossy(cut))
}
