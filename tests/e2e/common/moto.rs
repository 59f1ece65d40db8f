//! A moto server per test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::proxy::Proxy;

fn moto_server() -> PathBuf {
    if let Some(p) = std::env::var_os("JOBDEPLOY_TEST_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server")
}

/// A moto server of this test's own, stopped on drop. `url` is a proxy in front of it that
/// adds what AWS reports and moto does not (`registeredAt`, see `proxy/registered.rs`), so
/// every client — the seeding ones, and each test proxy — sees moto as AWS answers.
pub struct Moto {
    child: Child,
    pub url: String,
    _front: Option<Proxy>,
}

impl Moto {
    /// moto binds a port the kernel picks (`-p 0`) and logs it: a port chosen here and handed
    /// over could be taken meanwhile by another test's server, whose answer would then pass
    /// for this one's until that test ended.
    pub fn start() -> Self {
        let server = moto_server();
        assert!(
            server.exists(),
            "{} is missing: run scripts/test, which installs moto into .venv",
            server.display()
        );
        let mut child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server starts");
        let stderr = child.stderr.take().expect("moto_server's stderr");
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        // Reads the port from the startup line, then drains the request log so that moto
        // never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line
                    .split("Running on http://127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|digits| digits.parse::<u16>().ok())
                {
                    let _ = port_tx.send(port);
                }
            }
        });
        let mut moto = Self {
            child,
            url: String::new(),
            _front: None,
        };
        match port_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => moto.url = format!("http://127.0.0.1:{port}"),
            Err(_) => panic!("moto_server did not start"),
        }
        // Logged just before it serves: wait until it answers.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(moto.url.trim_start_matches("http://")).is_ok() {
                let front = Proxy::start(&moto.url);
                moto.url = front.url.clone();
                moto._front = Some(front);
                return moto;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moto_server did not answer on {}", moto.url);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
