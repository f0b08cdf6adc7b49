//! Prints the Inspection JSON of each file given, read by the Windows target alone; certificates given
//! with `--key FILE` are roots the app's admin added.
//! Example: `cargo run -p target-windows --example windows_inspect -- --key root.cer setup.exe`

use platform::{InspectContext, Limits, Probe, Target};
use target_windows::WindowsTarget;

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
        let Some(d) = WindowsTarget.detect(&probe) else {
            println!("{a}: not a Windows artifact");
            continue;
        };
        let mut ctx = InspectContext::new(
            &probe.file_name,
            data.len() as u64,
            Limits::default(),
            now(),
        );
        ctx.trusted_keys = keys.clone();
        cur.set_position(0);
        let i = WindowsTarget.inspect(&mut cur, &d.kind, &ctx)?;
        println!("{}", serde_json::to_string_pretty(&i.inspection)?);
    }
    Ok(())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
