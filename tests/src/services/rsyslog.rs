//! A real, independent file tailer: rsyslogd with `imfile`, each input file
//! copied line by line, verbatim, to an output file. imfile follows
//! rotation the way Promtail and Grafana Alloy do (when the inode at the
//! path changes, it reads the renamed file to its end, then opens the new
//! one from its start), so what it copies is what a shipper would ship.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::ChildGuard;

/// rsyslogd in the foreground with its own configuration and work
/// directory; no system inputs (no `/dev/log`, no kernel log).
pub struct Rsyslog {
    _child: ChildGuard,
    dir: tempfile::TempDir,
}

impl Rsyslog {
    /// Tail each `(live path, copy)` pair.
    pub fn tail(pairs: &[(&Path, &Path)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).expect("work dir");
        // global() first: the default 8 KiB message size would cut long lines.
        let mut conf = format!(
            "global(workDirectory=\"{}\" maxMessageSize=\"256k\")\n\
             module(load=\"imfile\" mode=\"inotify\")\n\
             template(name=\"line\" type=\"string\" string=\"%msg%\\n\")\n",
            work.display()
        );
        for (n, (live, copy)) in pairs.iter().enumerate() {
            conf.push_str(&format!(
                "ruleset(name=\"copy{n}\") {{ action(type=\"omfile\" file=\"{}\" template=\"line\") }}\n\
                 input(type=\"imfile\" file=\"{}\" tag=\"t{n}\" ruleset=\"copy{n}\" addMetadata=\"off\" \
                 freshStartTail=\"off\" persistStateInterval=\"100\")\n",
                copy.display(),
                live.display()
            ));
        }
        let path = dir.path().join("rsyslog.conf");
        std::fs::write(&path, conf).expect("rsyslog.conf");
        let stderr = std::fs::File::create(dir.path().join("rsyslogd.stderr")).expect("stderr file");
        let child = Command::new("rsyslogd")
            .args(["-n", "-iNONE", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("rsyslogd runs");
        Self { _child: ChildGuard(child), dir }
    }

    /// What rsyslogd said on stderr (for a failure message).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("rsyslogd.stderr")).unwrap_or_default()
    }

    /// Its configuration file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("rsyslog.conf")
    }
}
