//! Write each fuzz target's seed corpus: `fuzz-seeds OUT_DIR` creates
//! `OUT_DIR/<target>/<seed>` for every target (the fuzz script's first step).

use std::io::Write;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz-seeds OUT_DIR");
        std::process::exit(2);
    };
    for target in vigil_fuzz::seeds::TARGETS {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir)?;
        let seeds = vigil_fuzz::seeds::seeds(target);
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes)?;
        }
        writeln!(std::io::stdout(), "{target}: {} seeds", seeds.len())?;
    }
    Ok(())
}
