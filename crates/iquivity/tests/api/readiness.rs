//! `/readyz`: ready while the database answers and the key works; 503 once the database cannot be reached,
//! so a load balancer stops sending requests to that instance. `/healthz` stays liveness.

use crate::helpers::*;
use crate::instances::postgres_or_skip;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

async fn readiness(app: &TestApp) -> (StatusCode, Value) {
    let response = reqwest::get(app.url("/readyz")).await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// A TCP forwarder in front of PostgreSQL that the test can cut, as a network failure would.
struct Cable {
    port: u16,
    tasks: JoinSet<()>,
}

impl Cable {
    async fn to(target: String) -> Cable {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut links = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                links.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Cable { port, tasks }
    }

    /// Closes the listener and every connection through it.
    fn cut(&mut self) {
        self.tasks.abort_all();
    }
}

#[tokio::test]
async fn an_instance_is_ready_with_its_database_and_not_once_it_cannot_reach_it() {
    let app = spawn_app().await;
    let (status, body) = readiness(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // This app runs the engine, and its rounds end well.
    assert_eq!(
        body,
        json!({"database": true, "keys": true, "lifecycle": true})
    );

    let Some(postgres) = postgres_or_skip().await else {
        return;
    };
    let direct = iquivity_store::postgres::create_scratch_schema(&postgres, "iqr")
        .await
        .unwrap();
    let mut url = url::Url::parse(&direct).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let mut cable = Cable::to(target).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(cable.port)).unwrap();
    let instance = spawn_instance_on(url.to_string()).await;
    let (status, body) = readiness(&instance).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    cable.cut();
    let (status, body) = readiness(&instance).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["database"], false, "{body}");
    assert_eq!(body["keys"], true);
    let alive = reqwest::get(instance.url("/healthz")).await.unwrap();
    assert_eq!(
        alive.status(),
        StatusCode::OK,
        "liveness does not depend on the database"
    );
}
