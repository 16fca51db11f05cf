//! Medians and the machine's description.

use std::process::Command;

/// The median (mean of the middle two for an even count); 0 for none.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// What the figures were measured on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    /// Cores online.
    pub nproc: usize,
    /// /proc/cpuinfo's model name.
    pub cpu: String,
    /// MemTotal, GiB.
    pub ram_gib: f64,
    /// `uname -sr`.
    pub kernel: String,
    /// `rustc -V`.
    pub rustc: String,
    /// wrk's version line.
    pub wrk: String,
    /// `java -version`'s first line.
    pub java: String,
}

fn cmd_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            t.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_else(|| "not found".into())
}

impl Machine {
    /// Reads the machine.
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let ram_kb: f64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            ram_gib: ram_kb / 1024.0 / 1024.0,
            kernel: cmd_line("uname", &["-sr"]),
            rustc: cmd_line("rustc", &["-V"]),
            // wrk prints its version in its usage text (first line), exit code 1.
            wrk: cmd_line("wrk", &["-v"]),
            java: cmd_line("java", &["-version"]),
        }
    }
}

/// The 1-, 5- and 15-minute load averages.
pub fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
