#!/bin/sh
# The macOS target's inspect bench: a ~200 MB app (random, so incompressible, data as one
# resource file) signed ad hoc by the linker or, with rcodesign, sealed with a Developer ID
# style test certificate; zipped (stored), tarred with zstd, packed into a pkg, and put on an
# HFS+ volume in a zlib disk image (fixtures/macos/make_dmg.py's writers). Then
# bytes read, bytes decompressed and time of `inspect` against one SHA-256 pass over each
# file. Not run in CI.
#   sh bench/macos.sh     (needs clang + ld64.lld, zip, zstd, python3; rcodesign optional;
#                          about 1 GB of /tmp; BENCH_PROFILE=dev skips the release build)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf 'int start(void) { return 42; }\n' > main.c
clang -target arm64-apple-macos11.0 -fuse-ld=lld -nostdlib -e _start -O1 -Wl,-adhoc_codesign \
  -o Big main.c
mkdir -p Big.app/Contents/MacOS Big.app/Contents/Resources
cp Big Big.app/Contents/MacOS/Big
head -c 200000000 /dev/urandom > Big.app/Contents/Resources/big.bin
python3 - <<'P'
import plistlib
plistlib.dump({"CFBundleIdentifier": "com.dist.big", "CFBundleExecutable": "Big",
               "CFBundleShortVersionString": "1.0", "CFBundleVersion": "1"},
              open("Big.app/Contents/Info.plist", "wb"))
P
if command -v rcodesign >/dev/null 2>&1; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem -days 30 \
    -subj "/UID=BENCH00001/CN=Developer ID Application: Bench (BENCH00001)/OU=BENCH00001" 2>/dev/null
  rcodesign sign --pem-file k.pem --pem-file c.pem --timestamp-url none \
    --code-signature-flags runtime Big.app >/dev/null 2>&1
fi
zip -q -0 -r big-app.zip Big.app
# gzip streams byte by byte: detection sees the bundle in the probe's first 64 KiB (a zstd or
# bzip2 block of incompressible data is larger than that; see the README).
tar -cf - Big.app | gzip -1 > big-app.tar.gz
python3 - "$root/fixtures/macos/make_xar.py" <<'P'
import importlib.util, sys, gzip
spec = importlib.util.spec_from_file_location("mx", sys.argv[1]); mx = importlib.util.module_from_spec(spec); spec.loader.exec_module(mx)
big = open("Big.app/Contents/Resources/big.bin", "rb").read()
x = mx.Xar()
x.add("PackageInfo", mx.package_info("com.dist.big", "1.0", True))
x.add("Bom", b"BOMStore" + b"\0" * 24)
x.add("Payload", gzip.compress(mx.cpio_newc([("./big.bin", big, 0o100644)]), compresslevel=1, mtime=0), encoding="raw")
open("big.pkg", "wb").write(x.build())
P
python3 - "$root/fixtures/macos/make_dmg.py" <<'P'
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("md", sys.argv[1]); md = importlib.util.module_from_spec(spec); spec.loader.exec_module(md)
v = md.Volume("Big")
for d, _, files in os.walk("Big.app"):
    v.mkdir(d)
    for f in files:
        p = os.path.join(d, f)
        v.add(p, open(p, "rb").read(), 0o100755 if "MacOS" in p else 0o100644)
v.symlink("Applications", "/Applications")
img = v.image(((os.path.getsize("Big.app/Contents/Resources/big.bin") >> 20) + 8) << 20)
open("big.dmg", "wb").write(md.udif(md.apm_disk(img), "zlib", level=1))
P
cd "$root"
cargo run -q --profile "${BENCH_PROFILE:-release}" -p target-macos --example macos_bench -- \
  "$work/big-app.zip" "$work/big-app.tar.gz" "$work/big.pkg" "$work/big.dmg"
