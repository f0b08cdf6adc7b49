#!/bin/sh
# The Linux target's inspect bench: a ~200 MB deb, rpm (RSA-signed), AppImage (signed) and
# tarball (random, so incompressible, data) made in a temporary folder, then the bytes
# `inspect` read in its metadata pass and, apart, in its verification passes (the rpm's
# payload digest, the AppImage's signature digest), bytes decompressed, and its time against
# one SHA-256 pass over each file. Not run in CI.
#   sh bench/linux.sh            (needs dpkg-deb, gpg, python3; about 1 GB of /tmp)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'bench <bench@dist.test>' rsa2048 sign never
gpg --armor --export bench@dist.test > "$work/bench.pub"
cd "$work"
head -c 200000000 /dev/urandom > big.bin
mkdir -p pkg/DEBIAN pkg/usr/share/big && cp big.bin pkg/usr/share/big/
printf 'Package: big\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: b <b@dist.test>\nDescription: big\n' > pkg/DEBIAN/control
(cd pkg && md5sum usr/share/big/big.bin > DEBIAN/md5sums)
dpkg-deb --root-owner-group -Zzstd -z1 --build pkg big.deb >/dev/null
mkdir -p big-1.0 && cp big.bin big-1.0/ && tar --zstd -cf big.tar.zst big-1.0
python3 - "$root/fixtures/linux/gen.py" <<'P'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("gen", sys.argv[1]); gen = importlib.util.module_from_spec(spec); spec.loader.exec_module(gen)
big = open("big.bin", "rb").read()
# An rpm whose payload is the big file (gzip level 1 keeps the build quick).
import gzip, hashlib
orig = gen.cpio
gen.cpio = lambda files: orig([("./usr/share/big.bin", big, 0o100644)])
gz = gzip.compress
gen.gzip.compress = lambda b, mtime=0: gz(b, compresslevel=1, mtime=0)
gen.rpm("big-1.0-1.x86_64.rpm", sign_key="bench@dist.test")
# The AppImage: the big file stored in the squashfs, signed as gen.appimage signs (GPG over
# the SHA-256 of the file with the signature sections zeroed), so its digest pass runs.
import subprocess
runtime, secs = gen.elf(appimage=2, size=4096, sections=[(".upd_info", b"\0" * 1024), (".sha256_sig", b"\0" * 1024), (".sig_key", b"\0" * 8192)])
img = bytearray(runtime + gen.squashfs([("AppRun", "file", (b"#!/bin/sh\n", 0o755)), ("big.desktop", "file", (b"[Desktop Entry]\nName=Big\n", 0o644)), ("big.bin", "file", (big, 0o644))]))
digest = hashlib.sha256(bytes(img)).hexdigest()
sig = subprocess.run(["gpg", "--batch", "--armor", "--detach-sign", "--local-user", "bench@dist.test", "-o", "-"], input=digest.encode(), check=True, capture_output=True).stdout
o, n = secs[".sha256_sig"]
img[o:o + len(sig)] = sig
open("Big-x86_64.AppImage", "wb").write(img)
P
rm -f *.header *.header.sig
cd "$root"
cargo run -q --release -p target-linux --example linux_bench -- --key "$work/bench.pub" \
  "$work/big.deb" "$work/big-1.0-1.x86_64.rpm" "$work/Big-x86_64.AppImage" "$work/big.tar.zst"
