//! Running the `gatehouse` binary in the CLI tests: a command with standard
//! input, and `gatehouse serve` in the background. Shared by the test files of
//! this crate; each uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

/// Runs `command` with `stdin` written to its standard input; its output.
pub fn with_stdin(mut command: Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gatehouse runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `gatehouse` on the local data in `dir`, with no endpoint or issuer from the
/// environment the tests run in.
pub fn on_local_data(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(dir)
        .env_remove("GATEHOUSE_DYNAMODB_ENDPOINT")
        .env_remove("GATEHOUSE_ISSUER")
        .env_remove("GATEHOUSE_DURABILITY");
    c
}

/// `gatehouse serve` in the background on a free port, killed on drop.
pub struct Serve {
    pub child: Child,
    pub url: String,
}

impl Serve {
    pub fn start(dir: &Path) -> Self {
        Self::spawn(Command::new(BIN), dir)
    }

    /// Under `umask 000`: only the modes Gatehouse gives its files protect them.
    pub fn start_with_open_umask(dir: &Path) -> Self {
        let mut sh = Command::new("sh");
        sh.args(["-c", "umask 000; exec \"$0\" \"$@\"", BIN]);
        Self::spawn(sh, dir)
    }

    fn spawn(command: Command, dir: &Path) -> Self {
        Self::try_spawn(command, dir, &[]).expect("the ready line names the URL")
    }

    /// `gatehouse serve` with `args` added, once it has printed its ready line;
    /// `None` if it ended without one.
    pub fn try_start_with(dir: &Path, args: &[&str]) -> Option<Self> {
        Self::try_spawn(Command::new(BIN), dir, args)
    }

    fn try_spawn(mut command: Command, dir: &Path, args: &[&str]) -> Option<Self> {
        let mut child = command
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env_remove("GATEHOUSE_DYNAMODB_ENDPOINT")
            .env_remove("GATEHOUSE_ISSUER")
            .env_remove("GATEHOUSE_DURABILITY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(str::to_owned);
        match url {
            Some(url) => Some(Self { child, url }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                None
            }
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
