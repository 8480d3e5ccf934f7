//! What stops a renewal before its end: SIGINT or SIGTERM, or `--timeout` (a deadline for the
//! whole run). The saga treats either as a failed step (the undeployed successor revoked, its
//! key removed); a second signal ends the process at once, for a user who cannot wait for
//! that clean-up.

use std::sync::Arc;
use std::time::Duration;

use okms_lifecycle::StopReason;
use tokio::signal::unix::{SignalKind, signal};
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
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            tokio::spawn(async move {
                tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
                notify.notify_one();
                tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
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
