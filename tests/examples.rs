//! Every example runs and its trail verifies. `cargo test` builds the examples
//! before it runs the tests; this runs the binaries it built.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/<name>`, next to this test's own binary
/// (`target/<profile>/deps/examples-…`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "expected the example binary at {}; `cargo test` builds it (`cargo test --test examples` alone does not: run `cargo build --examples` first)",
        path.display()
    );
    path
}

fn run(name: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(example(name))
        .args(args)
        .current_dir(dir.path())
        .env_remove("AUDIT_STORAGE_PATH")
        .env_remove("AUDIT_HMAC_KEY_FILE")
        .env_remove("AUDIT_CATALOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn quickstart_writes_a_trail_that_verifies() {
    let out = run("quickstart", &["--records", "25"]);
    assert!(
        out.contains("audit verify: 27 records in 1 segment(s): trail intact"),
        "{out}"
    );
}

/// Issue 13, finding 10 (d): with a nested storage path that does not exist yet,
/// the quickstart wrote its key file beside the stream directory before the
/// writer created that directory's parents, and failed ("No such file or
/// directory").
#[test]
fn finding_10d_quickstart_creates_a_nested_storage_path_that_does_not_exist_yet() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("x/y/z/trail");
    let out = Command::new(example("quickstart"))
        .args(["--records", "3"])
        .current_dir(tmp.path())
        .env("AUDIT_STORAGE_PATH", &trail)
        .env_remove("AUDIT_HMAC_KEY_FILE")
        .env_remove("AUDIT_CATALOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "quickstart failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("trail intact"), "{stdout}");
    assert!(tmp.path().join("x/y/z/trail.key").is_file());
    assert!(trail.is_dir());
}

#[test]
fn http_service_records_its_handlers_with_the_actor_from_the_header() {
    let out = run("http_service", &[]);
    assert!(out.contains("trail intact"), "{out}");
    assert!(
        out.lines().any(|l| l.contains("pool.deleted")
            && l.contains("failure")
            && l.contains("actor=carol")),
        "{out}"
    );
}

#[test]
fn kernel_runbook_records_every_step_and_refuses_break_glass_without_a_trail() {
    let out = run("kernel_runbook", &[]);
    assert!(
        out.contains("without a trail, break-glass refused"),
        "{out}"
    );
    for action in [
        "kernel.component.start",
        "kernel.config.reload.success",
        "kernel.config.reload.failure",
        "kernel.capability.denied",
        "breakglass.activated",
        "secret.rotated",
        "kernel.component.stop",
    ] {
        assert!(out.contains(action), "{action} missing:\n{out}");
    }
    assert!(out.contains("trail intact"), "{out}");
}

#[test]
fn prometheus_example_prints_the_metrics() {
    let out = run("prometheus", &[]);
    assert!(
        out.contains(r#"audit_events_written_total{service="billing",action="invoice.refund",outcome="success"} 5"#),
        "{out}"
    );
}

/// The HTTP example run as a service is (`--serve`, configured from the
/// environment), stopped as Docker, Kubernetes and systemd stop it.
struct Service {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl Service {
    fn start(trail: &std::path::Path, key: &std::path::Path) -> Service {
        use std::io::BufRead as _;
        let mut child = Command::new(example("http_service"))
            .args(["--serve", "127.0.0.1:0"])
            .env("AUDIT_STORAGE_PATH", trail)
            .env("AUDIT_HMAC_KEY_FILE", key)
            .env("RUST_LOG", "warn")
            .env_remove("AUDIT_CATALOG")
            .env_remove("AUDIT_ENABLED")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("expected `listening on ADDR`, found {line:?}"))
            .parse()
            .unwrap();
        Service { child, addr }
    }

    /// Sends one request on a fresh connection; returns the status code.
    fn send(&self, method: &str, path: &str, request_id: &str) -> u16 {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(self.addr).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nhost: x\r\nx-actor: alice\r\nx-request-id: {request_id}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.split(' ').nth(1).unwrap().parse().unwrap()
    }

    /// `kill -TERM`, then waits for the exit; returns whether it exited cleanly.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        // The shell's `kill` builtin: no dependency on a `kill` binary being installed.
        let sent = Command::new("sh")
            .args(["-c", "kill -TERM \"$1\"", "sh", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }

    /// SIGKILL: nothing runs after it.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// The request ids of the trail's `action` records.
fn recorded(trail: &std::path::Path, action: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for record in tracing_audit::storage::Stream::open(trail)
        .unwrap()
        .records()
    {
        let v = record.unwrap().json().unwrap();
        if v["kind"] == "event" && v["action"] == action {
            ids.push(v["request_id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

/// Issue 10: a service built the README's way answered 2xx, was stopped with
/// SIGTERM right after, and lost most of those records (they died in the queue).
/// Every answered request must have its record: after SIGTERM for every action
/// (the guard is dropped, flushed and sealed on that path), and after SIGKILL for
/// durable ones (`pool.deleted`, severity high: the handler answers only once its
/// record is on disk).
#[test]
fn http_service_keeps_a_record_of_every_answered_request_through_sigterm_and_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let key = dir.path().join("audit.key");
    tracing_audit::Key::generate()
        .unwrap()
        .write_new_file(&key)
        .unwrap();

    let mut created = Vec::new();
    for round in 0..4 {
        let service = Service::start(&trail, &key);
        for i in 0..3 {
            let id = format!("create-{round}-{i}");
            if service.send("POST", &format!("/pools/p-{round}-{i}"), &id) / 100 == 2 {
                created.push(id);
            }
        }
        // At once after the last answer, as `docker stop` would.
        let status = service.terminate();
        assert!(status.success(), "a clean exit on SIGTERM, found {status}");
    }
    assert_eq!(created.len(), 12, "every create was answered 2xx");
    assert_eq!(recorded(&trail, "pool.created"), created);

    let mut deleted = Vec::new();
    for round in 0..4 {
        let service = Service::start(&trail, &key);
        let id = format!("delete-{round}");
        assert_eq!(
            service.send("DELETE", &format!("/pools/p-{round}-0"), &id),
            204
        );
        deleted.push(id);
        service.kill();
    }
    // A last start recovers the trail after the SIGKILL; SIGTERM ends it cleanly.
    assert!(Service::start(&trail, &key).terminate().success());
    assert_eq!(recorded(&trail, "pool.deleted"), deleted);

    let report = tracing_audit::verify::verify_dir(
        &trail,
        &tracing_audit::verify::VerifyOptions::new()
            .key(tracing_audit::Key::from_file(&key).unwrap()),
    )
    .unwrap();
    assert!(report.ok(), "{report:?}");
}
