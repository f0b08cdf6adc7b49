#!/bin/sh
# The macOS target's inspect bench: a ~200 MB app (random, so incompressible, data as one
# resource file) signed ad hoc by the linker or, with rcodesign, sealed with a Developer ID
# style test certificate; zipped (stored), tarred with gzip and with zstd, packed into a pkg
# (gzip cpio Payload holding the app), and put on an HFS+ volume in a zlib disk image
# (fixtures/macos/make_dmg.py's writers). Then
# bytes read, bytes decompressed and time of `inspect` against one SHA-256 pass over each
# file. Not run in CI.
#   sh bench/macos.sh     (needs zip, zstd, python3; clang + ld64.lld and rcodesign optional;
#                          about 1 GB of /tmp; BENCH_PROFILE=dev skips the release build)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# Debian's lld names its Mach-O linker ld64.lld-14: clang looks for ld64.lld.
if ! command -v ld64.lld >/dev/null 2>&1; then
  for l in /usr/bin/ld64.lld-*; do
    [ -x "$l" ] || continue
    mkdir -p "$work/bin" && ln -sf "$l" "$work/bin/ld64.lld" && PATH="$work/bin:$PATH"
    break
  done
fi
if command -v clang >/dev/null 2>&1 && command -v ld64.lld >/dev/null 2>&1; then
  printf 'int start(void) { return 42; }\n' > main.c
  clang -target arm64-apple-macos11.0 -fuse-ld=lld -nostdlib -e _start -O1 -Wl,-adhoc_codesign \
    -o Big main.c
else
  # Without clang and lld: the fixtures' universal Mach-O (signed with the test certificate).
  cp "$root/fixtures/macos/tiny-universal.macho" Big
fi
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
# Detection lists a tar's first entries with a bounded decompression (see the README).
tar -cf - Big.app | gzip -1 > big-app.tar.gz
tar -cf - Big.app | zstd -q -3 > big-app.tar.zst
python3 - "$root/fixtures/macos/make_xar.py" <<'P'
import importlib.util, sys, gzip
spec = importlib.util.spec_from_file_location("mx", sys.argv[1]); mx = importlib.util.module_from_spec(spec); spec.loader.exec_module(mx)
import os
# The Payload holds the app (./Big.app/...), as pkgbuild lays it out; the PackageInfo lists
# no <bundle>, so the outermost app is read.
entries = []
for d, dirs, files in sorted(os.walk("Big.app")):
    dirs.sort()
    entries.append(("./" + d, b"", 0o40755))
    for f in sorted(files):
        p = os.path.join(d, f)
        entries.append(("./" + p, open(p, "rb").read(), 0o100755))
x = mx.Xar()
x.add("PackageInfo", mx.package_info("com.dist.big", "1.0", False))
x.add("Bom", b"BOMStore" + b"\0" * 24)
x.add("Payload", gzip.compress(mx.cpio_newc(entries), compresslevel=1, mtime=0), encoding="raw")
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
  "$work/big-app.zip" "$work/big-app.tar.gz" "$work/big-app.tar.zst" "$work/big.pkg" "$work/big.dmg"
