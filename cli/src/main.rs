use target_android as _;
use target_ios as _;

fn main() {}
