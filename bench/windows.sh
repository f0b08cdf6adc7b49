#!/bin/sh
# The Windows target's inspect bench: a ~200 MB signed exe (random data in an overlay-free
# .rsrc-sized section), MSI (wixl, the file in its embedded cabinet) and MSIX (the file stored)
# made in a temporary folder with the fixture tools, then bytes read by the metadata pass,
# bytes read and decompressed by the whole inspection, and its time against one SHA-256 pass.
# Not run in CI.
#   sh bench/windows.sh      (needs python3, openssl, osslsigncode, wixl; about 1.5 GB of /tmp)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/fixtures/windows/keys" "$work/keys"
cd "$work"
head -c 200000000 /dev/urandom > big.bin
python3 - "$root/fixtures/windows/gen.py" <<'P'
import importlib.util, sys, struct
spec = importlib.util.spec_from_file_location("gen", sys.argv[1]); gen = importlib.util.module_from_spec(spec)
sys.argv = ["gen.py", "none"]; spec.loader.exec_module(gen)
gen.pe("small.exe", 0x8664)
d = bytearray(open("small.exe", "rb").read())
big = open("big.bin", "rb").read()
# One more section holding the big data, after .rsrc; SizeOfImage grown to match.
pe = struct.unpack_from("<I", d, 0x3c)[0]
n = struct.unpack_from("<H", d, pe + 6)[0]
struct.pack_into("<H", d, pe + 6, n + 1)
sec = pe + 24 + 240 + 40 * n
raw = len(d)
va = 0x100000
struct.pack_into("<8sIIIIIIHHI", d, sec, b".data", len(big), va, len(big), raw, 0, 0, 0, 0, 0x40000040)
struct.pack_into("<I", d, pe + 24 + 56, va + ((len(big) + 0xfff) & ~0xfff))
open("big.exe", "wb").write(bytes(d) + big)
gen.msix("big.msix", "CN=Dist Fixtures Signer, O=Dist Fixtures, C=GB", "x64", "big.exe")
P
sign() { osslsigncode sign -h sha256 -certs keys/signer.pem -key keys/signer.key -in "$1" -out "$2" >/dev/null; }
sign big.exe big-signed.exe
sign big.msix big-signed.msix
cp big.exe hello.exe
cat > big.wxs <<'WXS'
<?xml version="1.0"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="{11111111-2222-3333-4444-555555555556}" Name="Big" Language="1033" Version="1.0.0" Manufacturer="Bench" UpgradeCode="{66666666-7777-8888-9999-AAAAAAAAAAAB}">
    <Package InstallerVersion="200" Compressed="yes"/>
    <Media Id="1" Cabinet="big.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir"><Directory Id="ProgramFilesFolder"><Directory Id="INSTALLDIR" Name="Big">
      <Component Id="Main" Guid="{12345678-1234-1234-1234-123456789013}"><File Id="big" Source="big.bin" KeyPath="yes"/></Component>
    </Directory></Directory></Directory>
    <Feature Id="All" Level="1"><ComponentRef Id="Main"/></Feature>
  </Product>
</Wix>
WXS
wixl -o big.msi big.wxs 2>/dev/null
sign big.msi big-signed.msi
cd "$root"
cargo run -q --release -p target-windows --example windows_bench -- --key "$work/keys/ca.cer" \
  "$work/big-signed.exe" "$work/big-signed.msi" "$work/big-signed.msix"
