//! Prints the Inspection JSON of each file given, read by the Linux target alone; keys given
//! with `--key FILE` are the admin's trusted OpenPGP keys.
//! Example: `cargo run -p target-linux --example linux_inspect -- --key test.pub x.rpm`

use platform::{InspectContext, Limits, Probe, Target};
use target_linux::LinuxTarget;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut keys = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--key" {
            keys.push(std::fs::read(args.next().ok_or("--key needs a file")?)?);
            continue;
        }
        let data = std::fs::read(&a)?;
        let mut cur = std::io::Cursor::new(&data);
        let probe = Probe::read(&a, &mut cur, &Limits::default())?;
        let Some(d) = LinuxTarget.detect(&probe) else {
            println!("{a}: not a Linux artifact");
            continue;
        };
        let mut ctx =
            InspectContext::new(&probe.file_name, data.len() as u64, Limits::default(), 0);
        ctx.trusted_keys = keys.clone();
        cur.set_position(0);
        let i = LinuxTarget.inspect(&mut cur, &d.kind, &ctx)?;
        println!("{}", serde_json::to_string_pretty(&i.inspection)?);
    }
    Ok(())
}
