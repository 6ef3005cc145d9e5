//! A TCP proxy a test can cut and restore, to take a database away from a
//! running server without stopping the machine's database.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// Forwards a local port to `upstream` until cut.
pub struct TcpProxy {
    upstream: String,
    port: u16,
    state: Arc<Mutex<Option<JoinHandle<()>>>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpProxy {
    /// Listens on a free loopback port.
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Self {
            upstream: upstream.to_owned(),
            port,
            state: Arc::default(),
            connections: Arc::default(),
        };
        proxy.serve(listener).await;
        proxy
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    async fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let connections = self.connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let handle = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().await.push(handle);
            }
        });
        *self.state.lock().await = Some(task);
    }

    /// Stops accepting and drops every open connection.
    pub async fn cut(&self) {
        if let Some(task) = self.state.lock().await.take() {
            task.abort();
            let _ = task.await;
        }
        for c in self.connections.lock().await.drain(..) {
            c.abort();
        }
    }

    /// Accepts again on the same port.
    pub async fn restore(&self) {
        let listener = TcpListener::bind(self.address()).await.unwrap();
        self.serve(listener).await;
    }
}
