//! Prints the Inspection JSON of each file named on the command line (a debugging aid).
use target_android as _;

fn main() {
    for path in std::env::args().skip(1) {
        let mut f = std::fs::File::open(&path).expect("open");
        let r = platform::registry().inspect(&path, &mut f, None, platform::Limits::default(), 0);
        match r {
            Ok(i) => println!(
                "{}",
                serde_json::to_string_pretty(&i.inspection).expect("json")
            ),
            Err(e) => println!("error: {e}"),
        }
    }
}
