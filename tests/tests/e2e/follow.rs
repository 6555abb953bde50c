//! `vigil scrub --follow FILE --output FILE` as a Promtail sidecar filter:
//! it keeps up with a growing file through a rename-and-recreate rotation and
//! an in-place truncation, writing exactly one scrubbed line per line.

use std::io::Write;
use std::time::Duration;

use vigil_tests::process::ScrubFollower;
use vigil_tests::wait_until;

fn append(path: &std::path::Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open log");
    file.write_all(text.as_bytes()).expect("write log");
}

#[test]
fn follow_survives_rotation_and_truncation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, out) = (dir.path().join("app.log"), dir.path().join("app.scrubbed.log"));
    let follower = ScrubFollower::start(&log, out.clone());
    let lines = |n: usize| {
        let out = out.clone();
        move || std::fs::read_to_string(&out).map(|text| text.lines().count() >= n).unwrap_or(false)
    };
    let secret = "s3cr3t-Follow-9x";
    let limit = Duration::from_secs(60);

    // The file does not exist yet when following starts.
    append(&log, &format!("start\nlogin password={secret} ok\nmongodb://app:{secret}@db:27017/x\n"));
    wait_until(limit, "the first three lines", lines(3));

    // Rotation: rename, one last (unterminated) write to the old file, then a new file.
    let rotated = dir.path().join("app.log.1");
    std::fs::rename(&log, &rotated).expect("rotate");
    append(&rotated, "last line of the old file");
    append(&log, &format!("new file token: {secret}\nafter rotation\n"));
    wait_until(limit, "the lines around the rotation", lines(6));

    // copytruncate: the file is cut to nothing in place and written again.
    std::fs::OpenOptions::new().write(true).truncate(true).open(&log).expect("truncate");
    append(&log, "cut\n");
    wait_until(limit, "the line after truncation", lines(7));

    let status = follower.stop();
    assert!(status.success(), "vigil scrub --follow exited with {status}");

    let text = std::fs::read_to_string(&out).expect("output");
    let got: Vec<&str> = text.lines().collect();
    assert!(!text.contains(secret), "a secret survived:\n{text}");
    assert_eq!(
        got,
        [
            "start",
            "login password=[REDACTED:secret-assignment] ok",
            "mongodb://app:[REDACTED:uri-password]@db:27017/x",
            "last line of the old file",
            "new file token: [REDACTED:secret-assignment]",
            "after rotation",
            "cut",
        ],
        "{text}"
    );
}
