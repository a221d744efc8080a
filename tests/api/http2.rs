//! HTTP/2: over TLS with `--tls-cert`/`--tls-key` (what browsers speak), and without TLS
//! from a proxy that speaks it first (`--h2c`). Many streams share one connection, and each
//! still counts against the stream caps.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use reqwest::{StatusCode, Version};

use parley::config::Config;
use parley::startup::Application;
use parley_testing::sse::SseClient;
use parley_testing::wait::{DEADLINE, eventually};
use parley_testing::{TestApp, assert_problem, spawn_app_with};

/// A client that speaks HTTP/2 from its first byte, as a proxy configured for h2c does.
fn h2c_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client")
}

async fn assert_notes_over_http2(client: &reqwest::Client, base: &str) {
    let response = tokio::time::timeout(DEADLINE, client.get(format!("{base}/api/notes")).send())
        .await
        .expect("/api/notes answered")
        .expect("/api/notes");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_2);
}

/// Opens `count` streams to distinct rooms over `client`, each read up to `ready`.
async fn open_streams(client: &reqwest::Client, base: &str, count: usize) -> Vec<SseClient> {
    let mut streams = Vec::with_capacity(count);
    for room in 0..count {
        let url = format!("{base}/api/rooms/chat/r{room}/events");
        streams.push(SseClient::connect_ready_to(client, &url, None).await.0);
    }
    streams
}

#[tokio::test]
async fn h2c_carries_eight_streams_and_the_api_on_one_connection() {
    let app = spawn_app_with(|config| config.h2c = true).await;
    let client = h2c_client();
    let _streams = open_streams(&client, &app.address, 8).await;
    assert_eq!(app.handle.stream_slots(), 8);
    assert_notes_over_http2(&client, &app.address).await;
    // HTTP/1.1 clients are served on the same port.
    assert_eq!(app.get("/api/notes").await.version(), Version::HTTP_11);
}

#[tokio::test]
async fn without_h2c_a_client_speaking_http2_first_is_not_served() {
    let app = spawn_app_with(|_| {}).await;
    let sent = tokio::time::timeout(DEADLINE, h2c_client().get(app.url("/healthz")).send())
        .await
        .expect("an answer or an error");
    assert!(sent.is_err(), "{sent:?}");
}

#[tokio::test]
async fn streams_over_one_http2_connection_each_count_against_the_per_address_cap() {
    let app = spawn_app_with(|config| {
        config.h2c = true;
        config.max_streams_per_address = 3;
    })
    .await;
    let client = h2c_client();
    let _streams = open_streams(&client, &app.address, 3).await;
    let refused = client
        .get(app.url("/api/rooms/chat/one-more/events"))
        .send()
        .await
        .expect("GET");
    assert_eq!(refused.version(), Version::HTTP_2);
    assert!(refused.headers().get("retry-after").is_some());
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
    assert_eq!(app.handle.stream_slots(), 3);
    assert_notes_over_http2(&client, &app.address).await;
}

/// Over HTTP/2 nothing tells the server at once that a client reset an idle stream: the
/// stream is released at its next write, the keep-alive. A short keep-alive here makes
/// that quick; the deadline is several keep-alives.
#[tokio::test]
async fn a_closed_http2_stream_is_released_by_its_next_keep_alive() {
    let app = spawn_app_with(|config| {
        config.h2c = true;
        config.sse_keep_alive = Duration::from_millis(500);
    })
    .await;
    let client = h2c_client();
    let mut streams = open_streams(&client, &app.address, 2).await;
    // One stream reset (RST_STREAM), the connection and the other stream still open.
    drop(streams.pop());
    eventually("the reset stream is released", || {
        app.handle.stream_slots() == 1 && app.handle.open_streams() == 1
    })
    .await;
    assert_notes_over_http2(&client, &app.address).await;
    // The whole connection closed.
    drop(streams);
    drop(client);
    eventually("the closed connection's stream is released", || {
        app.handle.stream_slots() == 0 && app.handle.open_streams() == 0
    })
    .await;
}

/// A certificate authority and a certificate it issued for 127.0.0.1, written as PEM files.
struct TestCertificates {
    _dir: tempfile::TempDir,
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
    /// A key that does not belong to `cert`.
    other_key: PathBuf,
}

fn test_certificates() -> TestCertificates {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let ca = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("parameters")
        .signed_by(&key, &ca)
        .expect("certificate");
    let other_key = KeyPair::generate().expect("another key");
    let dir = tempfile::tempdir().expect("a directory for the certificates");
    let write = |name: &str, pem: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).expect("write a PEM file");
        path
    };
    TestCertificates {
        ca_pem: ca_cert.pem(),
        cert: write("cert.pem", cert.pem()),
        key: write("key.pem", key.serialize_pem()),
        other_key: write("other-key.pem", other_key.serialize_pem()),
        _dir: dir,
    }
}

/// A client that trusts only the test CA; `http1` limits it to HTTP/1.1.
fn tls_client(ca_pem: &str, http1: bool) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA certificate");
    let builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .https_only(true);
    let builder = if http1 { builder.http1_only() } else { builder };
    builder.build().expect("client")
}

async fn spawn_tls_app(certificates: &TestCertificates) -> (TestApp, String) {
    let app = spawn_app_with(|config| {
        config.tls_cert = Some(certificates.cert.clone());
        config.tls_key = Some(certificates.key.clone());
    })
    .await;
    let base = app.address.replace("http://", "https://");
    (app, base)
}

#[tokio::test]
async fn with_a_certificate_and_key_browsers_get_http2_over_tls() {
    let certificates = test_certificates();
    let (app, base) = spawn_tls_app(&certificates).await;
    let client = tls_client(&certificates.ca_pem, false);
    let _streams = open_streams(&client, &base, 8).await;
    assert_eq!(app.handle.stream_slots(), 8);
    assert_notes_over_http2(&client, &base).await;
    // ALPN still offers HTTP/1.1 to clients without HTTP/2.
    let http1 = tls_client(&certificates.ca_pem, true)
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("GET over HTTP/1.1");
    assert_eq!(http1.status(), StatusCode::OK);
    assert_eq!(http1.version(), Version::HTTP_11);
    // Plain HTTP is not served on the TLS port.
    let plain = tokio::time::timeout(DEADLINE, app.client.get(app.url("/healthz")).send())
        .await
        .expect("an answer or an error");
    assert!(
        plain.map_or(true, |response| !response.status().is_success()),
        "plain HTTP served on the TLS port"
    );
}

async fn start_up_error(tls_cert: &Path, tls_key: &Path) -> String {
    // The files are checked before the database is opened: this URL is never used.
    let mut config = Config::for_database("postgres://127.0.0.1:1/unused");
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.tls_cert = Some(tls_cert.to_owned());
    config.tls_key = Some(tls_key.to_owned());
    match tokio::time::timeout(DEADLINE, Application::build(config)).await {
        Ok(Ok(_)) => panic!("started with {tls_cert:?} and {tls_key:?}"),
        Ok(Err(error)) => format!("{error:#}"),
        Err(_) => panic!("start-up did not fail at once with {tls_cert:?} and {tls_key:?}"),
    }
}

#[tokio::test]
async fn a_missing_or_mismatched_certificate_or_key_stops_start_up_with_a_clear_error() {
    let certificates = test_certificates();
    let missing = certificates.cert.with_file_name("missing.pem");
    let error = start_up_error(&missing, &certificates.key).await;
    assert!(
        error.contains("--tls-cert") && error.contains("missing.pem"),
        "{error}"
    );
    let error = start_up_error(&certificates.cert, &missing).await;
    assert!(
        error.contains("--tls-key") && error.contains("missing.pem"),
        "{error}"
    );
    // A key where the certificate belongs.
    let error = start_up_error(&certificates.key, &certificates.key).await;
    assert!(error.contains("holds no certificate"), "{error}");
    let error = start_up_error(&certificates.cert, &certificates.other_key).await;
    assert!(
        error.contains("does not fit") && error.contains("other-key.pem"),
        "{error}"
    );
}

/// One HTTP/2 frame: type, flags, stream, payload (RFC 9113 §4.1).
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

async fn read_frame(socket: &mut tokio::net::TcpStream) -> Frame {
    use tokio::io::AsyncReadExt;
    let mut header = [0u8; 9];
    tokio::time::timeout(DEADLINE, socket.read_exact(&mut header))
        .await
        .expect("a frame within the deadline")
        .expect("read a frame header");
    let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0u8; length];
    socket
        .read_exact(&mut payload)
        .await
        .expect("read a frame payload");
    Frame {
        kind: header[3],
        flags: header[4],
        stream: u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff,
        payload,
    }
}

/// HTTP/2 lets a client send request bodies up to the flow-control windows before the
/// server reads them; actix-http's defaults (1 MiB per stream, 2 MiB per connection) would
/// let each connection park far more than an HTTP/1.1 one.
#[tokio::test]
async fn http2_flow_control_windows_stay_at_the_protocol_default() {
    use tokio::io::AsyncWriteExt;
    const SETTINGS: u8 = 0x4;
    const PING: u8 = 0x6;
    const WINDOW_UPDATE: u8 = 0x8;
    const INITIAL_WINDOW_SIZE: u16 = 0x4;
    let app = spawn_app_with(|config| config.h2c = true).await;
    let mut socket = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connect");
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]);
    hello.extend_from_slice(&[0, 0, 8, PING, 0, 0, 0, 0, 0]);
    hello.extend_from_slice(b"parley!!");
    socket.write_all(&hello).await.expect("send the preface");
    let mut stream_window = None;
    let mut connection_window_increments = 0u64;
    // Everything the server sends before it answers the ping: its settings and, if it
    // raises the connection window, the WINDOW_UPDATE that does it.
    loop {
        let frame = read_frame(&mut socket).await;
        match frame.kind {
            SETTINGS if frame.flags & 1 == 0 => {
                for setting in frame.payload.chunks_exact(6) {
                    if u16::from_be_bytes([setting[0], setting[1]]) == INITIAL_WINDOW_SIZE {
                        stream_window = Some(u32::from_be_bytes([
                            setting[2], setting[3], setting[4], setting[5],
                        ]));
                    }
                }
            }
            WINDOW_UPDATE if frame.stream == 0 => {
                let bytes: [u8; 4] = frame.payload[..4].try_into().expect("4 bytes");
                connection_window_increments += u64::from(u32::from_be_bytes(bytes));
            }
            PING if frame.flags & 1 == 1 => break,
            _ => {}
        }
    }
    assert!(
        stream_window.is_none_or(|window| window <= 65_535),
        "stream window {stream_window:?}"
    );
    assert_eq!(connection_window_increments, 0, "connection window raised");
}
