//! Child processes: the mock and WireMock pinned to a core, the `listening on` line,
//! resident memory and CPU time read from /proc.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};

/// A server we started; killed (by its own pid) when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its pid (the binary's own: taskset execs it).
    pub pid: u32,
    /// From spawn to the `listening on` line (or to the first good answer).
    pub startup: Duration,
}

impl Server {
    /// Stops it (SIGKILL, then reaps it).
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGINT (the mock shuts down gracefully) and waits for it to exit.
    pub fn interrupt_and_wait(mut self, timeout: Duration) -> Result<()> {
        let st = Command::new("kill")
            .arg("-INT")
            .arg(self.pid.to_string())
            .status()?;
        ensure!(st.success(), "kill -INT {} failed", self.pid);
        let started = Instant::now();
        loop {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            if started.elapsed() > timeout {
                bail!("pid {} did not exit within {timeout:?} of SIGINT", self.pid);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Resident memory now, in KiB.
    pub fn rss_kb(&self) -> u64 {
        status_kb(self.pid, "VmRSS").unwrap_or(0)
    }

    /// CPU time used so far (user + system, all threads), in seconds.
    pub fn cpu_s(&self) -> f64 {
        cpu_seconds(self.pid).unwrap_or(0.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Prefixes `taskset -c CPU` when a core is given (and taskset exists).
pub fn pinned(cpu: Option<usize>, program: &Path) -> Command {
    match cpu {
        Some(c) if which("taskset").is_some() => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(c.to_string()).arg(program);
            cmd
        }
        _ => Command::new(program),
    }
}

/// Starts the mock binary with `--listen 127.0.0.1:0` and `args`, and waits for its
/// `listening on` line.
pub fn spawn_mock(
    bin: &Path,
    args: &[String],
    cpu: Option<usize>,
    timeout: Duration,
) -> Result<Server> {
    spawn_mock_with(pinned(cpu, bin), bin, args, timeout)
}

/// [`spawn_mock`] with the command given (a wrapper such as valgrind, ending with the
/// binary).
pub fn spawn_mock_with(
    mut cmd: Command,
    bin: &Path,
    args: &[String],
    timeout: Duration,
) -> Result<Server> {
    cmd.arg("--listen")
        .arg("127.0.0.1:0")
        .args(args)
        .env("DT_MOCK_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<String>();
    // Reads every line (so the pipe never fills) and forwards the first one we want.
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && line.starts_with("listening on ") {
                let _ = tx.send(line);
                sent = true;
            }
        }
    });
    let line = match rx.recv_timeout(timeout) {
        Ok(l) => l,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{} did not print `listening on` within {timeout:?}",
                bin.display()
            );
        }
    };
    let startup = started.elapsed();
    let addr: SocketAddr = line
        .trim_start_matches("listening on ")
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim()
        .parse()
        .map_err(|e| anyhow!("bad listening line {line:?}: {e}"))?;
    let pid = child.id();
    Ok(Server {
        child,
        addr,
        pid,
        startup,
    })
}

/// Starts WireMock standalone on a free port with its root dir, quiet, and waits until
/// `ready_target` answers 200.
pub fn spawn_wiremock(
    jar: &Path,
    root: &Path,
    cpu: Option<usize>,
    ready_target: &str,
    timeout: Duration,
) -> Result<Server> {
    let port = free_port()?;
    let java = which("java").ok_or_else(|| anyhow!("java is not on PATH"))?;
    let mut cmd = pinned(cpu, &java);
    cmd.arg("-jar")
        .arg(jar)
        .arg("--port")
        .arg(port.to_string())
        .arg("--bind-address")
        .arg("127.0.0.1")
        .arg("--root-dir")
        .arg(root)
        .arg("--disable-banner")
        .arg("--disable-request-logging")
        .arg("--no-request-journal")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let child = cmd.spawn().context("starting WireMock")?;
    let pid = child.id();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let mut server = Server {
        child,
        addr,
        pid,
        startup: Duration::ZERO,
    };
    crate::http::wait_for(addr, ready_target, 200, timeout)?;
    server.startup = started.elapsed();
    Ok(server)
}

/// A port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// A field of /proc/PID/status in KiB (`VmRSS`, `VmHWM`).
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The clock ticks per second of /proc/PID/stat (USER_HZ).
fn clock_ticks() -> f64 {
    static HZ: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *HZ.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// utime + stime of a process (all its threads), in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// A program on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// This process's own peak resident memory (VmHWM), in KiB.
pub fn self_peak_kb() -> u64 {
    status_kb(std::process::id(), "VmHWM").unwrap_or(0)
}
