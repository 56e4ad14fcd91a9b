//! Routes: each request is validated here, on its connection thread; only work that needs the network
//! goes through the queue to the worker.

use crate::engine::{Engine, Info};
use crate::http::{self, Request, Response};
use crate::queue::{Submitted, Ticket, Work};
use crate::{b64, limits, Shared};
use bestiary_canvas::Metadata;
use bestiary_explore as ex;
use bestiary_stylegan::NoiseMode;
use burn::tensor::backend::Backend;
use serde_json::{json, Value};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;

const INDEX_HTML: &str = include_str!("../web/index.html");
const APP_JS: &str = include_str!("../web/app.js");
const STYLE_CSS: &str = include_str!("../web/style.css");
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

pub(crate) fn handle_connection<B: Backend>(mut stream: TcpStream, shared: &Shared<B>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_nodelay(true);
    match http::read_request(&stream, shared.max_body) {
        Err(http::ReadError::Gone) => {}
        Err(http::ReadError::Status(s, msg)) => {
            http::write_response(&mut stream, &Response::error(s, msg), true)
        }
        Ok(req) => {
            let r = route(&req, shared, &stream);
            http::write_response(&mut stream, &r, false);
        }
    }
}

/// A 400 with this message.
type Bad = Response;
fn bad(msg: impl std::fmt::Display) -> Bad {
    Response::error(400, msg)
}

fn route<B: Backend>(req: &Request, sh: &Shared<B>, stream: &TcpStream) -> Response {
    let get = req.method == "GET" || req.method == "HEAD";
    let post = req.method == "POST";
    if let (Some(allowed), Some(host)) = (&sh.allowed_hosts, &req.host) {
        if !allowed.contains(host) {
            return Response::error(
                403,
                "unexpected Host: open the studio at the address it printed",
            );
        }
    }
    let r = match req.path.as_str() {
        "/" | "/index.html" if get => {
            Ok(
                Response::new(200, "text/html; charset=utf-8", INDEX_HTML.into())
                    .with_header("Content-Security-Policy", CSP),
            )
        }
        "/app.js" if get => Ok(Response::new(
            200,
            "text/javascript; charset=utf-8",
            APP_JS.into(),
        )),
        "/style.css" if get => Ok(Response::new(
            200,
            "text/css; charset=utf-8",
            STYLE_CSS.into(),
        )),
        "/api/info" if get => Ok(Response::json(&sh.info.to_json())),
        "/api/seed.png" if get => seed_png(req, sh, stream),
        "/api/seed.w" if get => seed_w(req, sh, stream),
        "/api/render" if post => body(req).and_then(|v| render(&v, sh, stream)),
        "/api/breed" if post => body(req).and_then(|v| breed(&v, sh, stream)),
        "/api/mix" if post => body(req).and_then(|v| mix(&v, &sh.info)),
        "/api/direction" if post => body(req).and_then(|v| direction(&v, &sh.info)),
        "/api/edit" if post => body(req).and_then(|v| edit(&v, sh, stream)),
        "/api/memorable" if post => body(req).and_then(|v| memorable(&v, sh, stream)),
        "/api/walk" if post => body(req).and_then(|v| walk(&v, sh, stream)),
        "/api/favorites" if get => Ok(Response::json(&json!({"favorites": sh.favorites.list()}))),
        "/api/favorites" if post => body(req).and_then(|v| save(&v, sh, stream)),
        "/" | "/index.html" | "/app.js" | "/style.css" | "/api/info" | "/api/seed.png"
        | "/api/seed.w" | "/api/render" | "/api/breed" | "/api/mix" | "/api/direction"
        | "/api/edit" | "/api/memorable" | "/api/walk" | "/api/favorites" => Err(Response::error(
            405,
            format!("{} is not allowed here", req.method),
        )),
        p if p.starts_with("/api/favorites/") && get => {
            favorite_file(&p["/api/favorites/".len()..], sh)
        }
        _ => Err(Response::error(404, "not found")),
    };
    let mut r = r.unwrap_or_else(|e| e);
    if req.method == "HEAD" {
        r.body.clear();
    }
    r
}

// ------------------------------------------------------------------------------------------- params

fn body(req: &Request) -> Result<Value, Bad> {
    // JSON only: a page on another site cannot send that cross-origin without a preflight, which we refuse.
    if !req
        .content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return Err(Response::error(
            415,
            "POST bodies must be sent as application/json",
        ));
    }
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(bad("the body must be a JSON object"));
    }
    Ok(v)
}

/// A parameter from a query string or JSON body, as text or number.
trait Params {
    fn text(&self, key: &str) -> Option<String>;
    fn number(&self, key: &str) -> Result<Option<f64>, Bad> {
        match self.text(key) {
            None => Ok(None),
            Some(s) => s
                .trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| bad(format!("'{key}' must be a number, got '{s}'"))),
        }
    }
}

impl Params for Request {
    fn text(&self, key: &str) -> Option<String> {
        self.param(key).map(str::to_string)
    }
}

impl Params for Value {
    fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

fn float(p: &impl Params, key: &str, default: f64, (lo, hi): (f64, f64)) -> Result<f64, Bad> {
    let v = p.number(key)?.unwrap_or(default);
    if !v.is_finite() || v < lo || v > hi {
        return Err(bad(format!("'{key}' must be in {lo}..={hi}, got {v}")));
    }
    Ok(v)
}

fn integer(
    p: &impl Params,
    key: &str,
    default: Option<u64>,
    (lo, hi): (u64, u64),
) -> Result<u64, Bad> {
    let v = match (p.text(key), default) {
        (Some(s), _) => s.trim().parse::<u64>().map_err(|_| {
            bad(format!(
                "'{key}' must be an integer in {lo}..={hi}, got '{s}'"
            ))
        })?,
        (None, Some(d)) => d,
        (None, None) => return Err(bad(format!("'{key}' is required"))),
    };
    if v < lo || v > hi {
        return Err(bad(format!("'{key}' must be in {lo}..={hi}, got {v}")));
    }
    Ok(v)
}

fn seed(p: &impl Params, key: &str) -> Result<u32, Bad> {
    Ok(integer(p, key, None, (0, u32::MAX as u64))? as u32)
}

fn psi(p: &impl Params) -> Result<f64, Bad> {
    float(p, "psi", 1.0, limits::PSI)
}

fn noise(p: &impl Params) -> Result<NoiseMode, Bad> {
    match p.text("noise").as_deref() {
        None | Some("const") => Ok(NoiseMode::Const),
        Some("random") => Ok(NoiseMode::Random),
        Some("none") => Ok(NoiseMode::None),
        Some(o) => Err(bad(format!(
            "'noise' must be const, random or none, got '{o}'"
        ))),
    }
}

/// The optional tab id and generation counter of a request (both or neither).
fn ticket(p: &impl Params) -> Result<Option<Ticket>, Bad> {
    match (p.text("tab"), p.text("gen")) {
        (None, None) => Ok(None),
        (Some(tab), Some(_)) => {
            if tab.is_empty()
                || tab.len() > 64
                || !tab
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(bad("'tab' must be 1-64 letters, digits, '-' or '_'"));
            }
            Ok(Some(Ticket {
                tab,
                gen: integer(p, "gen", None, (0, u64::MAX))?,
            }))
        }
        _ => Err(bad("'tab' and 'gen' go together")),
    }
}

/// A W vector given as base64 little-endian f32, checked against the network's shape.
fn w_of(v: &Value, key: &str, info: &Info) -> Result<Vec<f32>, Bad> {
    let s = v
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("'{key}' must be a W vector (base64 f32)")))?;
    w_from_str(s, key, info)
}

fn w_from_str(s: &str, key: &str, info: &Info) -> Result<Vec<f32>, Bad> {
    let w =
        b64::decode_f32(s).ok_or_else(|| bad(format!("'{key}' is not base64 of f32 values")))?;
    if w.len() != info.w_len() {
        return Err(bad(format!(
            "'{key}' holds {} values; this network's W has {} x {}",
            w.len(),
            info.num_ws,
            info.w_dim
        )));
    }
    if w.iter()
        .any(|x| !x.is_finite() || x.abs() > limits::MAX_W_ABS)
    {
        return Err(bad(format!(
            "'{key}' holds a value that is not finite or over {}",
            limits::MAX_W_ABS
        )));
    }
    Ok(w)
}

fn w_json(w: &[f32]) -> Value {
    json!(b64::encode_f32(w))
}

fn direction_of<'a>(v: &Value, info: &'a Info) -> Result<(&'a [f32], f32, f32), Bad> {
    let method = v.text("method").unwrap_or_else(|| "sefa".into());
    let count = info
        .directions
        .iter()
        .find(|d| d.method == method)
        .map(|d| d.dirs.len())
        .ok_or_else(|| bad(format!("'method' must be sefa or ganspace, got '{method}'")))?;
    let index = integer(v, "index", None, (0, count.saturating_sub(1) as u64))? as usize;
    let amount = float(v, "amount", 0.0, limits::AMOUNT)? as f32;
    let (dir, sigma) = info
        .direction(&method, index)
        .ok_or_else(|| bad("no such direction"))?;
    Ok((dir, sigma, amount))
}

/// Which W indices a direction moves: all, or one of the coarse/middle/fine groups.
fn layers_of(v: &Value, info: &Info) -> Result<Vec<usize>, Bad> {
    match v.text("layers").as_deref() {
        None | Some("all") => Ok((0..info.num_ws).collect()),
        Some("coarse") => Ok(info.groups.coarse.clone()),
        Some("middle") => Ok(info.groups.middle.clone()),
        Some("fine") => Ok(info.groups.fine.clone()),
        Some(o) => Err(bad(format!(
            "'layers' must be all, coarse, middle or fine, got '{o}'"
        ))),
    }
}

// --------------------------------------------------------------------------------------------- jobs

/// Queues `work` for the worker and waits for its answer, cancelling it if the client disconnects.
fn run<B: Backend>(
    sh: &Shared<B>,
    stream: &TcpStream,
    ticket: Option<Ticket>,
    work: Work<Engine<B>>,
) -> Result<Response, Bad> {
    let cancelled = Arc::new(AtomicBool::new(false));
    let rx = match sh.queue.submit(ticket, cancelled.clone(), work) {
        Submitted::Queued(rx) => rx,
        Submitted::Full => {
            return Err(
                Response::error(503, "busy: the render queue is full, try again")
                    .with_header("Retry-After", "1"),
            )
        }
        Submitted::Stale => {
            return Err(Response::error(
                409,
                "superseded by a newer request from the same tab",
            ))
        }
        Submitted::Closed => return Err(Response::error(503, "the studio is shutting down")),
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(r) => return Ok(r),
            Err(RecvTimeoutError::Timeout) => {
                if http::peer_closed(stream) {
                    cancelled.store(true, Ordering::SeqCst);
                    return Err(Response::error(499, "client closed the connection"));
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Response::error(503, "the job was dropped"))
            }
        }
    }
}

fn png_of<B: Backend>(e: &Engine<B>, hwc: &[u8]) -> Response {
    match e.png(hwc, None) {
        Ok(p) => Response::png(p),
        Err(err) => Response::error(500, err),
    }
}

fn seed_png<B: Backend>(
    req: &Request,
    sh: &Shared<B>,
    stream: &TcpStream,
) -> Result<Response, Bad> {
    let (s, p, n, t) = (seed(req, "seed")?, psi(req)?, noise(req)?, ticket(req)?);
    run(
        sh,
        stream,
        t,
        Box::new(move |e: &Engine<B>| match e.seed_pixels(s, p, n) {
            Ok(px) => png_of(e, &px),
            Err(err) => Response::error(500, err),
        }),
    )
}

fn seed_w<B: Backend>(req: &Request, sh: &Shared<B>, stream: &TcpStream) -> Result<Response, Bad> {
    let (s, p) = (seed(req, "seed")?, psi(req)?);
    run(
        sh,
        stream,
        None,
        Box::new(move |e: &Engine<B>| match e.seed_ws(&[s], p) {
            Ok(ws) => Response::json(&json!({"w": w_json(&ws[0]), "seed": s, "psi": p})),
            Err(err) => Response::error(500, err),
        }),
    )
}

fn render<B: Backend>(v: &Value, sh: &Shared<B>, stream: &TcpStream) -> Result<Response, Bad> {
    let (w, n, t) = (w_of(v, "w", &sh.info)?, noise(v)?, ticket(v)?);
    run(
        sh,
        stream,
        t,
        Box::new(move |e: &Engine<B>| png_of(e, &e.render(&w, n))),
    )
}

fn breed<B: Backend>(v: &Value, sh: &Shared<B>, stream: &TcpStream) -> Result<Response, Bad> {
    let w = w_of(v, "w", &sh.info)?;
    let count = integer(v, "count", Some(6), (1, limits::MAX_CHILDREN as u64))? as usize;
    let strength = float(v, "strength", 0.3, limits::STRENGTH)? as f32;
    let s = seed(v, "seed")?;
    run(
        sh,
        stream,
        None,
        Box::new(move |e: &Engine<B>| match e.breed(&w, count, strength, s) {
            Ok(children) => Response::json(
                &json!({"children": children.iter().map(|c| w_json(c)).collect::<Vec<_>>()}),
            ),
            Err(err) => Response::error(500, err),
        }),
    )
}

fn mix(v: &Value, info: &Info) -> Result<Response, Bad> {
    let coarse = w_of(v, "coarse", info)?;
    let middle = w_of(v, "middle", info)?;
    let fine = match v.get("fine") {
        None | Some(Value::Null) => middle.clone(),
        Some(_) => w_of(v, "fine", info)?,
    };
    let w = ex::chimera_ws(&info.groups, &coarse, &middle, &fine, info.w_dim);
    Ok(Response::json(&json!({"w": w_json(&w)})))
}

fn direction(v: &Value, info: &Info) -> Result<Response, Bad> {
    let w = w_of(v, "w", info)?;
    let (dir, sigma, amount) = direction_of(v, info)?;
    let layers = layers_of(v, info)?;
    Ok(Response::json(
        &json!({"w": w_json(&ex::apply_direction(&w, dir, amount * sigma, &layers))}),
    ))
}

fn edit<B: Backend>(v: &Value, sh: &Shared<B>, stream: &TcpStream) -> Result<Response, Bad> {
    let info = &sh.info;
    let base = w_of(v, "w", info)?;
    let size = info.resolution;
    let mask_s = v
        .get("mask")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("'mask' must be base64 bytes"))?;
    let mask = b64::decode(mask_s).ok_or_else(|| bad("'mask' is not base64"))?;
    if mask.len() != size * size {
        return Err(bad(format!(
            "'mask' must hold {size}x{size} bytes (the output resolution), got {}",
            mask.len()
        )));
    }
    if mask.iter().all(|&b| b == 0) {
        return Err(bad(
            "the mask selects no pixel: paint where the image should change",
        ));
    }
    let n = noise(v)?;
    let t = ticket(v)?;
    enum Source {
        W(Vec<f32>),
        Seed(u32, f64),
    }
    let src = match v.text("mode").as_deref() {
        Some("direction") => {
            let (dir, sigma, amount) = direction_of(v, info)?;
            Source::W(ex::apply_direction(
                &base,
                dir,
                amount * sigma,
                &layers_of(v, info)?,
            ))
        }
        None | Some("reroll") => Source::Seed(seed(v, "seed")?, psi(v)?),
        Some(o) => {
            return Err(bad(format!(
                "'mode' must be reroll or direction, got '{o}'"
            )))
        }
    };
    run(
        sh,
        stream,
        t,
        Box::new(move |e: &Engine<B>| {
            let edit_w = match src {
                Source::W(w) => w,
                Source::Seed(s, p) => match e.seed_ws(&[s], p) {
                    Ok(mut ws) => ws.remove(0),
                    Err(err) => return Response::error(500, err),
                },
            };
            match e.local_edit(&base, &edit_w, &mask, n) {
                Ok(px) => png_of(e, &px),
                Err(crate::StudioError::Invalid(m)) => bad(m),
                Err(err) => Response::error(500, err),
            }
        }),
    )
}

/// "More memorable": the brush's W from the focused W, with the scores (as `bestiary memorability`
/// reports them for the 8-bit images) and the LPIPS to the start.
fn memorable<B: Backend>(v: &Value, sh: &Shared<B>, stream: &TcpStream) -> Result<Response, Bad> {
    let w = w_of(v, "w", &sh.info)?;
    let (default, lo, hi) = crate::engine::MEMORABLE_STEPS;
    let steps = integer(v, "steps", Some(default as u64), (lo as u64, hi as u64))? as usize;
    let t = ticket(v)?;
    run(
        sh,
        stream,
        t,
        Box::new(move |e: &Engine<B>| match e.more_memorable(&w, steps) {
            Ok(r) => Response::json(&json!({
                "w": w_json(&r.ws), "steps": steps, "score_before": r.score_before,
                "score_after": r.score_after, "lpips": r.lpips_after,
            })),
            Err(crate::StudioError::Invalid(m)) => bad(m),
            Err(err) => Response::error(500, err),
        }),
    )
}

fn walk<B: Backend>(v: &Value, sh: &Shared<B>, stream: &TcpStream) -> Result<Response, Bad> {
    let arr = v
        .get("ws")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("'ws' must be a list of W vectors"))?;
    let (lo, hi) = limits::WALK_KEYS;
    if arr.len() < lo || arr.len() > hi {
        return Err(bad(format!(
            "'ws' must hold {lo} to {hi} W vectors, got {}",
            arr.len()
        )));
    }
    let keys = arr
        .iter()
        .map(|x| {
            x.as_str()
                .ok_or_else(|| bad("'ws' must hold base64 strings"))
                .and_then(|s| w_from_str(s, "ws", &sh.info))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (flo, fhi) = limits::WALK_FRAMES;
    let frames = integer(v, "frames", Some(24), (flo as u64, fhi as u64))? as usize;
    let fps = integer(v, "fps", Some(12), limits::WALK_FPS)? as u32;
    let format = v.text("format").unwrap_or_else(|| "gif".into());
    if !limits::WALK_FORMATS.contains(&format.as_str()) {
        return Err(bad(format!(
            "'format' must be gif, webp or mp4, got '{format}'"
        )));
    }
    let (n, t) = (noise(v)?, ticket(v)?);
    run(
        sh,
        stream,
        t,
        Box::new(
            move |e: &Engine<B>| match e.walk_video(&keys, frames, fps, n, &format) {
                Ok((bytes, kind)) => Response::new(200, kind, bytes),
                Err(err) => Response::error(500, err),
            },
        ),
    )
}

fn save<B: Backend>(v: &Value, sh: &Shared<B>, stream: &TcpStream) -> Result<Response, Bad> {
    let w = w_of(v, "w", &sh.info)?;
    let lineage = v.get("lineage").cloned().unwrap_or(Value::Null);
    let label = v.text("label").unwrap_or_default();
    if lineage.to_string().len() + label.len() > limits::MAX_LINEAGE {
        return Err(bad(format!(
            "'lineage' and 'label' may hold {} bytes at most",
            limits::MAX_LINEAGE
        )));
    }
    let favs = sh.favorites.clone();
    run(
        sh,
        stream,
        None,
        Box::new(move |e: &Engine<B>| {
            // Favourites are rendered with the stored noise: `generate --projected-w` reproduces them exactly.
            let px = e.render(&w, NoiseMode::Const);
            let mut params = json!({
                "network": e.info.network, "noise_mode": "const", "label": label, "lineage": lineage,
                "reproduce": "bestiary generate --network NETWORK --projected-w FAV.safetensors --outdir out",
            });
            if let Some(c) = &e.info.class {
                params["class"] = c.to_json();
            }
            let meta = Metadata::new("stylegan2-studio", params.clone(), 0);
            let result = e.png(&px, Some(&meta)).and_then(|png| {
                favs.save(&png, &w, e.info.num_ws, e.info.w_dim, &params.to_string())
            });
            match result {
                Ok(name) => Response::json(
                    &json!({"name": name, "png": format!("{name}.png"), "w": format!("{name}.safetensors")}),
                ),
                Err(err) => Response::error(500, err),
            }
        }),
    )
}

/// `NAME.png`, `NAME.safetensors` or `NAME.w` (the W as JSON) of a saved favourite; anything else is 404.
fn favorite_file<B: Backend>(rest: &str, sh: &Shared<B>) -> Result<Response, Bad> {
    let not_found = || Response::error(404, "no such favourite");
    let (name, kind) = rest.split_once('.').ok_or_else(not_found)?;
    if !crate::favorites::valid_name(name) {
        return Err(not_found());
    }
    match kind {
        "png" => sh
            .favorites
            .read(name, "png")
            .map(Response::png)
            .ok_or_else(not_found),
        "safetensors" => sh
            .favorites
            .read(name, "safetensors")
            .map(|b| Response::new(200, "application/octet-stream", b))
            .ok_or_else(not_found),
        "w" => sh
            .favorites
            .read_w(name, sh.info.num_ws, sh.info.w_dim)
            .map(|w| Response::json(&json!({"name": name, "w": w_json(&w)})))
            .ok_or_else(not_found),
        _ => Err(not_found()),
    }
}
