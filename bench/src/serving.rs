//! The real server on a loopback port, for as long as a measurement needs it.

use iquivity::App;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) struct Serving {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    stop: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
}

impl Serving {
    pub async fn start(app: Arc<App>) -> anyhow::Result<Serving> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.serve(listener, async {
                let _ = stopped.await;
            })
            .await
        });
        Ok(Serving { base, stop, server })
    }

    /// Stops the server; an error it stopped with is the answer.
    pub async fn stop(self) -> anyhow::Result<()> {
        // The receiver may already be gone if the server stopped on its own; its error is reported next.
        let _ = self.stop.send(());
        self.server.await?
    }
}
