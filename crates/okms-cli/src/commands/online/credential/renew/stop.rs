//! What stops a renewal before its end: SIGINT or SIGTERM (on Windows, Ctrl-C or Ctrl-Break),
//! or `--timeout` (a deadline for the whole run). The saga treats either as a failed step (the undeployed successor revoked, its
//! key removed); a second signal ends the process at once, for a user who cannot wait for
//! that clean-up.

use std::sync::Arc;
use std::time::Duration;

use okms_lifecycle::StopReason;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::exit::Exit;

/// The signals of one run, listened to from its start to the process's end.
pub(super) struct Stop {
    first_signal: Arc<Notify>,
    deadline: Instant,
}

impl Stop {
    /// Listens to SIGINT and SIGTERM (inside the runtime that runs the saga); the deadline is
    /// `left` from now.
    pub fn listen(left: Duration) -> Self {
        let first_signal = Arc::new(Notify::new());
        let notify = Arc::clone(&first_signal);
        // Without handlers (no signal support), the default action still ends the process:
        // the next run then resolves what this one left.
        if let Some(mut signals) = Signals::listen() {
            tokio::spawn(async move {
                signals.next().await;
                notify.notify_one();
                signals.next().await;
                std::process::exit(Exit::Interrupted.code().into());
            });
        }
        Stop {
            first_signal,
            deadline: Instant::now() + left,
        }
    }

    /// Completes at the first signal or at the deadline.
    pub fn reason(&self) -> impl Future<Output = StopReason> + Send + 'static {
        let (signalled, deadline) = (Arc::clone(&self.first_signal), self.deadline);
        async move {
            tokio::select! {
                () = signalled.notified() => StopReason::Interrupted,
                () = tokio::time::sleep_until(deadline) => StopReason::DeadlineExceeded,
            }
        }
    }
}

/// The signals that ask a renewal to stop: SIGINT and SIGTERM.
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn listen() -> Option<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Some(Signals {
            interrupt: signal(SignalKind::interrupt()).ok()?,
            terminate: signal(SignalKind::terminate()).ok()?,
        })
    }

    async fn next(&mut self) {
        tokio::select! { _ = self.interrupt.recv() => {}, _ = self.terminate.recv() => {} }
    }
}

/// The console's interrupts that ask a renewal to stop: Ctrl-C and Ctrl-Break (Windows has no
/// SIGTERM; a service manager that ends the process gives no chance to clean up, and the next
/// run resolves what this one left).
#[cfg(windows)]
struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
}

#[cfg(windows)]
impl Signals {
    fn listen() -> Option<Self> {
        use tokio::signal::windows::{ctrl_break, ctrl_c};
        Some(Signals {
            ctrl_c: ctrl_c().ok()?,
            ctrl_break: ctrl_break().ok()?,
        })
    }

    async fn next(&mut self) {
        tokio::select! { _ = self.ctrl_c.recv() => {}, _ = self.ctrl_break.recv() => {} }
    }
}
