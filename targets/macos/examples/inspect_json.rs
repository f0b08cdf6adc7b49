//! Prints the macOS target's inspection of each file as JSON, for looking at what a reader
//! makes of a file while developing.
//! Example: `cargo run -p target-macos --example inspect_json -- App.dmg`

use std::io::{BufReader, Seek, SeekFrom};

use platform::{InspectContext, Limits, Probe, Target};
use target_macos::MacosTarget;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for a in std::env::args().skip(1) {
        let mut r = BufReader::new(std::fs::File::open(&a)?);
        let probe = Probe::read(&a, &mut r, &Limits::default())?;
        let d = MacosTarget.detect(&probe).ok_or("not a macOS artifact")?;
        let ctx = InspectContext::new(&probe.file_name, probe.size, Limits::default(), 0);
        r.seek(SeekFrom::Start(0))?;
        let i = MacosTarget.inspect(&mut r, &d.kind, &ctx)?;
        println!("{}", serde_json::to_string_pretty(&i.inspection)?);
    }
    Ok(())
}
