#!/bin/sh
# A mixed Windows release end to end (issue 19's evidence): a real distd on 127.0.0.1, the
# fixtures' signed MSIX, MSI and exe, an arm64 exe and a zipped app published with
# `dist ci publish` after the fixtures' CA was added to the app (so they read `signed`),
# promoted to beta, each file fetched back through its channel URL by kind and architecture
# and compared byte for byte, and the channel's .appinstaller document checked. Not run by CI.
#   cargo build -p server -p cli && sh scripts/windows-release-e2e.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/debug"
work=$(mktemp -d)
port=${PORT:-18091}
DIST_DATA="$work/data" DIST_LISTEN="127.0.0.1:$port" "$bin/distd" serve > "$work/distd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -f "$work/data/initial-admin-token" ] && break; sleep 0.5; done
export DIST_SERVER="http://127.0.0.1:$port" DIST_TOKEN="$(cat "$work/data/initial-admin-token")"
mkdir -p "$work/rel/out"
f="$root/fixtures/windows"
cp "$f/hello-signed.msix" "$f/hello-signed.msi" "$f/hello-signed.exe" "$f/hello-arm64.exe" "$f/hello-app.zip" "$work/rel/out/"
cat > "$work/rel/dist.json" <<'J'
{"schema_version": 2, "app": "hello", "version": "1.2.3", "build": "1", "channel": "beta",
 "artifacts": [
  {"path": "out/hello-signed.msix", "arch": "x64"},
  {"path": "out/hello-signed.msi", "arch": "x64"},
  {"path": "out/hello-signed.exe", "arch": "x64"},
  {"path": "out/hello-arm64.exe", "arch": "arm64"},
  {"path": "out/hello-app.zip", "arch": "x64"}]}
J
"$bin/dist" app create hello --name Hello > /dev/null
"$bin/dist" app add-key hello --platform windows "$f/keys/ca.pem" > /dev/null
"$bin/dist" ci publish --manifest "$work/rel/dist.json" --json > "$work/publish.json"
check() { # $1 channel URL tail, $2 the file it must serve
  curl -sf -H "Authorization: Bearer $DIST_TOKEN" -o "$work/got" "$DIST_SERVER/d/hello/beta/$1"
  cmp -s "$work/got" "$work/rel/out/$2" || { echo "FAIL: /d/hello/beta/$1 is not $2"; exit 1; }
  echo "ok   /d/hello/beta/$1 -> $2"
}
check 'windows/x86_64' hello-signed.msix
check 'windows/x86_64?kind=msi' hello-signed.msi
check 'windows/x64?kind=exe' hello-signed.exe
check 'windows/arm64' hello-arm64.exe
check 'windows/x86_64?kind=zip' hello-app.zip
rel=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['release']['url'])" "$work/publish.json")
curl -sf -H "Authorization: Bearer $DIST_TOKEN" -o "$work/release.json" "$rel"
python3 - "$work/release.json" <<'P'
import json, sys
def walk(v):
    if isinstance(v, dict):
        if "signature" in v and "kind" in v and "file" in v:
            yield v
        for x in v.values():
            yield from walk(x)
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)
states = {i["file"]: i["signature"]["state"] for i in walk(json.load(open(sys.argv[1])))}
for f, s in sorted(states.items()):
    print(f"     {f}: signature {s}")
want = {"hello-signed.msix": "signed", "hello-signed.msi": "signed", "hello-signed.exe": "signed"}
bad = [f for f, s in want.items() if states.get(f) != s]
if bad:
    sys.exit(f"FAIL: not signed with the app's root: {bad}")
P
curl -sf -H "Authorization: Bearer $DIST_TOKEN" -o "$work/ai.xml" "$DIST_SERVER/d/hello/beta/windows/feed/Hello.appinstaller"
grep -q '<MainPackage Name="Dist.Hello"' "$work/ai.xml" || { echo "FAIL: appinstaller"; cat "$work/ai.xml"; exit 1; }
echo "ok   /d/hello/beta/windows/feed/Hello.appinstaller -> $(grep -o 'Uri="[^"]*"' "$work/ai.xml" | tail -1)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $DIST_TOKEN" "$DIST_SERVER/d/hello/beta/windows/x86")
[ "$code" = 404 ] || { echo "FAIL: windows/x86 answered $code, not 404"; exit 1; }
echo "ok   /d/hello/beta/windows/x86 -> 404"
