//! `bestiary studio`: a local web page for live exploration of a StyleGAN2-ADA network — a seed grid,
//! breeding, chimeras, SeFa/GANSpace directions, masked local edits, walks, and favourites on disk.
//!
//! The server is a small HTTP/1.1 subset on std sockets ([`http`]): the studio serves one user on
//! localhost, so one short-lived thread per connection (bounded) is plenty, and owning the parser keeps
//! the limits (head and body sizes, timeouts) explicit and dependency-free. The network is owned by one
//! worker thread fed by a bounded [`queue`]; connection threads validate requests against [`engine::Info`]
//! and wait for their job, cancelling it when their client disconnects.

pub mod b64;
pub mod engine;
pub mod favorites;
pub mod http;
pub mod queue;
mod routes;

use bestiary_stylegan::ModelFile;
use burn::tensor::backend::Backend;
use engine::{Engine, Info};
use favorites::Favorites;
use queue::{Queue, StatsSnapshot};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Errors of the studio; messages are one line, ready for the CLI.
#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Model(String),
    #[error("{0}")]
    Io(String),
}

/// Bounds on every request parameter (also sent to the page with `/api/info`).
pub mod limits {
    pub const PSI: (f64, f64) = (-10.0, 10.0);
    pub const MAX_CHILDREN: usize = 16;
    pub const STRENGTH: (f64, f64) = (0.0, 4.0);
    /// Direction amounts, in σ.
    pub const AMOUNT: (f64, f64) = (-20.0, 20.0);
    pub const WALK_KEYS: (usize, usize) = (2, 8);
    pub const WALK_FRAMES: (usize, usize) = (2, 120);
    pub const WALK_FPS: (u64, u64) = (1, 50);
    pub const WALK_FORMATS: [&str; 3] = ["gif", "webp", "mp4"];
    /// Largest |value| accepted in a W vector.
    pub const MAX_W_ABS: f32 = 1.0e4;
    /// Longest lineage/label JSON stored with a favourite, in bytes.
    pub const MAX_LINEAGE: usize = 64 * 1024;
}

pub fn limits_json() -> serde_json::Value {
    use limits::*;
    serde_json::json!({
        "psi": PSI, "max_children": MAX_CHILDREN, "strength": STRENGTH, "amount": AMOUNT,
        "walk_keys": WALK_KEYS, "walk_frames": WALK_FRAMES, "walk_fps": WALK_FPS, "walk_formats": WALK_FORMATS,
    })
}

/// Where and how the studio serves.
#[derive(Clone, Debug)]
pub struct StudioConfig {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    pub favorites: PathBuf,
    /// Shown on the page and stored in favourites' metadata.
    pub network_name: String,
    /// The class explored on a conditional network: a name the model file records, or an index.
    pub class: Option<String>,
    /// Jobs waiting for the network beyond this are refused with 503.
    pub queue_capacity: usize,
    /// Larger request bodies are refused with 413.
    pub max_body: usize,
    /// Concurrent connections beyond this are refused with 503.
    pub max_connections: usize,
}

impl StudioConfig {
    pub fn new(favorites: impl Into<PathBuf>, network_name: &str) -> StudioConfig {
        StudioConfig {
            host: "127.0.0.1".into(),
            port: 7860,
            favorites: favorites.into(),
            network_name: network_name.to_string(),
            class: None,
            queue_capacity: 64,
            max_body: 2 * 1024 * 1024,
            max_connections: 128,
        }
    }
}

/// What the connection threads share.
pub(crate) struct Shared<B: Backend> {
    pub info: Info,
    pub queue: Arc<Queue<Engine<B>>>,
    pub favorites: Arc<Favorites>,
    pub max_body: usize,
    /// With a loopback address: the `Host` values accepted (a page elsewhere reaching us through DNS
    /// rebinding names its own host). `None` when serving beyond loopback.
    pub allowed_hosts: Option<Vec<String>>,
}

/// Control of a running queue without its backend type.
trait Control: Send + Sync {
    fn set_paused(&self, paused: bool);
    fn snapshot(&self) -> StatsSnapshot;
    fn close(&self);
}

impl<B: Backend> Control for Queue<Engine<B>> {
    fn set_paused(&self, paused: bool) {
        Queue::set_paused(self, paused)
    }
    fn snapshot(&self) -> StatsSnapshot {
        Queue::snapshot(self)
    }
    fn close(&self) {
        Queue::close(self)
    }
}

/// A running studio; [`Studio::shutdown`] stops it (dropping it does too).
pub struct Studio {
    addr: SocketAddr,
    info: Info,
    stop: Arc<AtomicBool>,
    control: Arc<dyn Control>,
    threads: Vec<JoinHandle<()>>,
}

impl Studio {
    /// Binds `cfg.host:cfg.port` (port 0 picks a free one), loads the network and starts serving.
    pub fn start<B: Backend>(
        model: ModelFile,
        device: B::Device,
        cfg: StudioConfig,
    ) -> Result<Studio, StudioError> {
        let listener = Studio::bind(&cfg)?;
        Studio::start_on::<B>(listener, model, device, cfg)
    }

    /// The listening socket of `cfg` (so that a busy port fails before the network loads).
    pub fn bind(cfg: &StudioConfig) -> Result<TcpListener, StudioError> {
        TcpListener::bind((cfg.host.as_str(), cfg.port)).map_err(|e| {
            StudioError::Io(format!("cannot listen on {}:{}: {e}", cfg.host, cfg.port))
        })
    }

    /// Loads the network on a new worker thread (computing its directions) and serves on `listener`.
    pub fn start_on<B: Backend>(
        listener: TcpListener,
        model: ModelFile,
        device: B::Device,
        cfg: StudioConfig,
    ) -> Result<Studio, StudioError> {
        let favorites = Arc::new(Favorites::open(&cfg.favorites)?);
        let queue: Arc<Queue<Engine<B>>> = Arc::new(Queue::new(cfg.queue_capacity));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (name, class) = (cfg.network_name.clone(), cfg.class.clone());
        let q = queue.clone();
        let worker = std::thread::Builder::new()
            .name("studio-worker".into())
            .spawn(
                move || match Engine::<B>::load(&model, &name, class.as_deref(), device) {
                    Ok(engine) => {
                        drop(model);
                        let _ = ready_tx.send(Ok(engine.info.clone()));
                        q.run_worker(&engine);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                },
            )
            .map_err(|e| StudioError::Io(format!("cannot start the worker thread: {e}")))?;
        let info = match ready_rx.recv() {
            Ok(Ok(info)) => info,
            Ok(Err(e)) => {
                let _ = worker.join();
                return Err(e);
            }
            Err(_) => {
                let _ = worker.join();
                return Err(StudioError::Model(
                    "the network could not be loaded (the worker stopped)".into(),
                ));
            }
        };
        let addr = listener
            .local_addr()
            .map_err(|e| StudioError::Io(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let allowed_hosts = addr.ip().is_loopback().then(|| {
            let p = addr.port();
            vec![
                format!("127.0.0.1:{p}"),
                format!("localhost:{p}"),
                format!("[::1]:{p}"),
                addr.to_string(),
            ]
        });
        let shared = Arc::new(Shared::<B> {
            info: info.clone(),
            queue: queue.clone(),
            favorites,
            max_body: cfg.max_body,
            allowed_hosts,
        });
        let (stop2, max_conn) = (stop.clone(), cfg.max_connections.max(1));
        let acceptor = std::thread::Builder::new()
            .name("studio-accept".into())
            .spawn(move || accept_loop(listener, shared, stop2, max_conn))
            .map_err(|e| StudioError::Io(format!("cannot start the server thread: {e}")))?;
        Ok(Studio {
            addr,
            info,
            stop,
            control: queue,
            threads: vec![acceptor, worker],
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn info(&self) -> &Info {
        &self.info
    }

    /// Holds the worker (queued jobs wait) or resumes it; for tests and maintenance.
    pub fn pause_worker(&self, paused: bool) {
        self.control.set_paused(paused);
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.control.snapshot()
    }

    /// Stops accepting, drops queued jobs, and waits for the server and worker threads.
    pub fn shutdown(mut self) {
        self.stop_threads();
    }

    fn stop_threads(&mut self) {
        if self.stop.swap(true, Ordering::SeqCst) {
            return;
        }
        self.control.close();
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Studio {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

fn accept_loop<B: Backend>(
    listener: TcpListener,
    shared: Arc<Shared<B>>,
    stop: Arc<AtomicBool>,
    max_conn: usize,
) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut stream) = stream else { continue };
        if active.load(Ordering::SeqCst) >= max_conn {
            let r =
                http::Response::error(503, "too many connections").with_header("Retry-After", "1");
            let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
            http::write_response(&mut stream, &r, false);
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let (shared, active2) = (shared.clone(), active.clone());
        let spawned = std::thread::Builder::new()
            .name("studio-conn".into())
            .spawn(move || {
                routes::handle_connection(stream, &shared);
                active2.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
