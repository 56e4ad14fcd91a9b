//! The bounded work queue between the connection threads and the one worker thread that owns the network.
//!
//! A job may carry a tab id and a generation counter: a newer generation from the same tab drops that tab's
//! older queued jobs (answered 409) and refuses older ones arriving late. A job whose client went away is
//! flagged by its connection thread and skipped by the worker.

use crate::http::Response;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};

/// What the worker runs, given its context (the engine).
pub type Work<C> = Box<dyn FnOnce(&C) -> Response + Send>;

/// Which tab sent a job and that tab's generation counter when it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub tab: String,
    pub gen: u64,
}

pub struct Job<C> {
    work: Work<C>,
    ticket: Option<Ticket>,
    cancelled: Arc<AtomicBool>,
    reply: Sender<Response>,
}

/// Counters for tests and the status line.
#[derive(Default, Debug)]
pub struct Stats {
    pub ran: AtomicUsize,
    /// Jobs skipped because their client disconnected.
    pub dropped_disconnected: AtomicUsize,
    /// Jobs dropped or refused because a newer generation of their tab arrived.
    pub dropped_stale: AtomicUsize,
    /// Jobs refused because the queue was full.
    pub rejected_full: AtomicUsize,
}

/// Snapshot of [`Stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub ran: usize,
    pub dropped_disconnected: usize,
    pub dropped_stale: usize,
    pub rejected_full: usize,
    pub queued: usize,
    /// Queued jobs whose client has gone (skipped when their turn comes).
    pub queued_cancelled: usize,
}

struct State<C> {
    jobs: VecDeque<Job<C>>,
    latest: HashMap<String, u64>,
    paused: bool,
    closed: bool,
}

pub struct Queue<C> {
    state: Mutex<State<C>>,
    cv: Condvar,
    capacity: usize,
    pub stats: Stats,
}

/// The outcome of submitting a job.
pub enum Submitted {
    /// Queued: the reply arrives on this channel (or it is dropped unanswered when skipped).
    Queued(Receiver<Response>),
    /// The queue is full (503).
    Full,
    /// A newer generation of the same tab was already seen (409).
    Stale,
    /// The server is shutting down (503).
    Closed,
}

/// Tabs remembered for generation counters; beyond this the map is cleared (old tabs then start afresh).
const MAX_TABS: usize = 4096;

fn superseded() -> Response {
    Response::error(409, "superseded by a newer request from the same tab")
}

impl<C> Queue<C> {
    pub fn new(capacity: usize) -> Queue<C> {
        Queue {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                latest: HashMap::new(),
                paused: false,
                closed: false,
            }),
            cv: Condvar::new(),
            capacity: capacity.max(1),
            stats: Stats::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<C>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn submit(
        &self,
        ticket: Option<Ticket>,
        cancelled: Arc<AtomicBool>,
        work: Work<C>,
    ) -> Submitted {
        let mut st = self.lock();
        if st.closed {
            return Submitted::Closed;
        }
        if let Some(t) = &ticket {
            let latest = st.latest.get(&t.tab).copied();
            if latest.is_some_and(|g| t.gen < g) {
                self.stats.dropped_stale.fetch_add(1, Ordering::Relaxed);
                return Submitted::Stale;
            }
            if latest.is_none_or(|g| t.gen > g) {
                // A new generation: the tab's older queued jobs are no longer wanted.
                let before = st.jobs.len();
                let mut kept = VecDeque::with_capacity(before);
                for job in st.jobs.drain(..) {
                    match &job.ticket {
                        Some(o) if o.tab == t.tab && o.gen < t.gen => {
                            let _ = job.reply.send(superseded());
                        }
                        _ => kept.push_back(job),
                    }
                }
                self.stats
                    .dropped_stale
                    .fetch_add(before - kept.len(), Ordering::Relaxed);
                st.jobs = kept;
                if st.latest.len() >= MAX_TABS {
                    st.latest.clear();
                }
                st.latest.insert(t.tab.clone(), t.gen);
            }
        }
        if st.jobs.len() >= self.capacity {
            self.stats.rejected_full.fetch_add(1, Ordering::Relaxed);
            return Submitted::Full;
        }
        let (tx, rx) = channel();
        st.jobs.push_back(Job {
            work,
            ticket,
            cancelled,
            reply: tx,
        });
        self.cv.notify_one();
        Submitted::Queued(rx)
    }

    /// The next job to run (blocking), skipping cancelled and stale ones; `None` once closed.
    fn next(&self) -> Option<Job<C>> {
        let mut st = self.lock();
        loop {
            if st.closed {
                return None;
            }
            if !st.paused {
                while let Some(job) = st.jobs.pop_front() {
                    if job.cancelled.load(Ordering::SeqCst) {
                        self.stats
                            .dropped_disconnected
                            .fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if let Some(t) = &job.ticket {
                        if st.latest.get(&t.tab).is_some_and(|&g| t.gen < g) {
                            self.stats.dropped_stale.fetch_add(1, Ordering::Relaxed);
                            let _ = job.reply.send(superseded());
                            continue;
                        }
                    }
                    return Some(job);
                }
            }
            st = self.cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Runs jobs on the calling thread until the queue is closed. A panicking job answers 500 and the
    /// worker carries on.
    pub fn run_worker(&self, ctx: &C) {
        while let Some(job) = self.next() {
            let work = job.work;
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(ctx)))
                .unwrap_or_else(|_| Response::error(500, "internal error while rendering"));
            self.stats.ran.fetch_add(1, Ordering::Relaxed);
            let _ = job.reply.send(r);
        }
    }

    /// Holds (true) or resumes (false) the worker; queued jobs wait meanwhile. For tests and maintenance.
    pub fn set_paused(&self, paused: bool) {
        self.lock().paused = paused;
        self.cv.notify_all();
    }

    /// Stops the worker; queued jobs are dropped (their clients get 503 from their connection threads).
    pub fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.jobs.clear();
        self.cv.notify_all();
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let (queued, queued_cancelled) = {
            let st = self.lock();
            (
                st.jobs.len(),
                st.jobs
                    .iter()
                    .filter(|j| j.cancelled.load(Ordering::SeqCst))
                    .count(),
            )
        };
        let s = &self.stats;
        StatsSnapshot {
            ran: s.ran.load(Ordering::Relaxed),
            dropped_disconnected: s.dropped_disconnected.load(Ordering::Relaxed),
            dropped_stale: s.dropped_stale.load(Ordering::Relaxed),
            rejected_full: s.rejected_full.load(Ordering::Relaxed),
            queued,
            queued_cancelled,
        }
    }
}
