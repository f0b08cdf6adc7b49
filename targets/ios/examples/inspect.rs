//! Prints the Inspection JSON of each file named on the command line, through the registry,
//! as `dist inspect --json` would. `NOW_UNIX` fixes the clock.

use target_ios as _;

fn main() -> anyhow::Result<()> {
    let now = match std::env::var("NOW_UNIX") {
        Ok(v) => v.parse()?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64,
    };
    for path in std::env::args().skip(1) {
        let mut f = std::fs::File::open(&path)?;
        let i =
            platform::registry().inspect(&path, &mut f, None, platform::Limits::default(), now)?;
        println!("{}", serde_json::to_string_pretty(&i.inspection)?);
        if let Some(icon) = i.icon_png {
            eprintln!("{path}: icon {} bytes", icon.len());
        }
    }
    Ok(())
}
