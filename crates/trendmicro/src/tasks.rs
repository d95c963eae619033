//! Following asynchronous tasks (Vision One v3 response tasks, XDR v2 block tasks) with one
//! poller: [`TaskWatch`] holds every task a run waits for, and whichever waiter holds the round
//! reads the tasks that are due, for all of them. However many values are in flight, one round
//! at a time polls, and each task is paced from its own start.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use crate::Error;

/// An API whose tasks a [`TaskWatch`] can follow.
pub trait TaskSource: Sync {
    /// A task as read.
    type Task: Clone + Send;
    /// Its status, as reported when a wait ends open.
    type Status: Clone + Send;
    /// Reads task `id`.
    fn read(&self, id: &str) -> impl Future<Output = Result<Self::Task, Error>> + Send;
    /// The task's status.
    fn status(task: &Self::Task) -> Self::Status;
    /// Whether the task will not change any more by itself.
    fn is_final(task: &Self::Task) -> bool;
    /// The status of a task not read yet.
    fn unread() -> Self::Status;
}

/// How long and how often [`TaskWatch`] polls.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// The first pause between rounds; it doubles up to `max`.
    pub min: Duration,
    pub max: Duration,
    /// A task still open this long after it was first waited for ends the wait.
    pub timeout: Duration,
    /// Task reads in flight at once in a round.
    pub reads: usize,
}

/// What one task's wait saw.
#[derive(Debug, Clone)]
enum Seen<S: TaskSource> {
    Open {
        since: Instant,
        status: S::Status,
        /// When it is read next, and the pause after that read.
        next: Instant,
        pause: Duration,
    },
    Done(S::Task),
    /// Reading it failed (after the HTTP policy's retries).
    Unreadable {
        message: String,
        stops_target: bool,
    },
}

/// Follows many tasks with one poller. Every waiter registers its task; whichever waiter
/// holds the round reads every open task that is due once (concurrently, up to `reads`), then
/// all waiters look at what the round found. So however many values are in flight, one round
/// at a time polls. Each task is read first at once (as XDR v2 tasks are), then after pauses
/// doubling from `min` to `max`, counted from its own start.
pub struct TaskWatch<'c, S: TaskSource> {
    client: &'c S,
    pace: Pace,
    tasks: std::sync::Mutex<HashMap<String, Seen<S>>>,
    round: tokio::sync::Mutex<()>,
}

/// Why a wait ended without a final status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitError<Status> {
    /// The task is still open after the timeout (its last status).
    Open(Status),
    /// Reading it failed: the error, and whether it stops the whole target (bad key,
    /// unreachable).
    Read { message: String, stops_target: bool },
}

impl<'c, S: TaskSource> TaskWatch<'c, S> {
    /// A watch reading tasks through `client`.
    pub fn new(client: &'c S, pace: Pace) -> Self {
        TaskWatch {
            client,
            pace,
            tasks: std::sync::Mutex::new(HashMap::new()),
            round: tokio::sync::Mutex::new(()),
        }
    }

    /// Waits until task `id` is final (or the timeout passes, or reading it fails).
    pub async fn wait(&self, id: &str) -> Result<S::Task, WaitError<S::Status>> {
        let now = Instant::now();
        self.tasks().entry(id.to_owned()).or_insert(Seen::Open {
            since: now,
            status: S::unread(),
            next: now,
            pause: self.pace.min,
        });
        loop {
            if let Some(end) = self.ended(id) {
                return end;
            }
            let _round = self.round.lock().await;
            // Another waiter's round may have settled this task meanwhile.
            if let Some(end) = self.ended(id) {
                return end;
            }
            if let Some(next) = self.next_read() {
                tokio::time::sleep_until(next).await;
            }
            self.poll_round().await;
        }
    }

    /// When the next open task is due to be read.
    fn next_read(&self) -> Option<Instant> {
        self.tasks()
            .values()
            .filter_map(|seen| match seen {
                Seen::Open { next, .. } => Some(*next),
                Seen::Done(_) | Seen::Unreadable { .. } => None,
            })
            .min()
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, HashMap<String, Seen<S>>> {
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The end of `id`'s wait, if it has one (and forgets the task).
    fn ended(&self, id: &str) -> Option<Result<S::Task, WaitError<S::Status>>> {
        let mut tasks = self.tasks();
        let end = match tasks.get(id)? {
            Seen::Done(task) => Ok(task.clone()),
            Seen::Open { since, status, .. } if since.elapsed() >= self.pace.timeout => {
                Err(WaitError::Open(status.clone()))
            }
            Seen::Unreadable {
                message,
                stops_target,
            } => Err(WaitError::Read {
                message: message.clone(),
                stops_target: *stops_target,
            }),
            Seen::Open { .. } => return None,
        };
        tasks.remove(id);
        Some(end)
    }

    /// Reads every open task that is due once; a task that cannot be read ends its own wait.
    async fn poll_round(&self) {
        let now = Instant::now();
        let open: Vec<String> = self
            .tasks()
            .iter()
            .filter(|(_, seen)| matches!(seen, Seen::Open { next, .. } if *next <= now))
            .map(|(id, _)| id.clone())
            .collect();
        let mut reads = futures::stream::iter(open)
            .map(|id| async move { (self.client.read(&id).await, id) })
            .buffer_unordered(self.pace.reads.max(1));
        while let Some((read, id)) = reads.next().await {
            match read {
                Ok(task) => self.note(&id, task),
                Err(error) => {
                    let unreadable = Seen::Unreadable {
                        message: error.to_string(),
                        stops_target: error.stops_target(),
                    };
                    self.tasks().insert(id, unreadable);
                }
            }
        }
    }

    fn note(&self, id: &str, task: S::Task) {
        let mut tasks = self.tasks();
        let Some(seen) = tasks.get_mut(id) else {
            return;
        };
        if S::is_final(&task) {
            *seen = Seen::Done(task);
        } else if let Seen::Open {
            status,
            next,
            pause,
            ..
        } = seen
        {
            *status = S::status(&task);
            *next = Instant::now() + *pause;
            *pause = (*pause * 2).min(self.pace.max);
        }
    }
}
