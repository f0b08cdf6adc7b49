#!/bin/sh
# A mixed Linux release end to end (issue 18's evidence): a real distd on 127.0.0.1, the
# fixtures' deb, rpm, AppImage and tarball published with `dist ci publish`, promoted to
# beta, and each file fetched back through its channel URL by kind and architecture,
# compared byte for byte, with curl as a browser or script would. Not run by CI;
# cli/tests/channel_download.rs does the same through `dist download`, and CI runs it.
#   cargo build -p server -p cli && sh scripts/linux-release-e2e.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/debug"
work=$(mktemp -d)
port=${PORT:-18089}
DIST_DATA="$work/data" DIST_LISTEN="127.0.0.1:$port" "$bin/distd" serve > "$work/distd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -f "$work/data/initial-admin-token" ] && break; sleep 0.5; done
export DIST_SERVER="http://127.0.0.1:$port" DIST_TOKEN="$(cat "$work/data/initial-admin-token")"
mkdir -p "$work/rel/out"
f="$root/fixtures/linux"
cp "$f/hello-dist_1.2.3-4_amd64.xz.deb" "$f/hello-1.0-1.x86_64-rsa.rpm" "$f/Hello-x86_64.AppImage" "$f/app-1.0-x86_64.tar.gz" "$work/rel/out/"
cat > "$work/rel/dist.json" <<'J'
{"schema_version": 2, "app": "hello", "version": "1.0", "build": "1", "channel": "beta",
 "artifacts": [
  {"path": "out/hello-dist_1.2.3-4_amd64.xz.deb", "arch": "amd64"},
  {"path": "out/hello-1.0-1.x86_64-rsa.rpm", "arch": "x86_64"},
  {"path": "out/Hello-x86_64.AppImage", "arch": "x86_64"},
  {"path": "out/app-1.0-x86_64.tar.gz", "arch": "x86_64"}]}
J
"$bin/dist" app create hello --name Hello > /dev/null
"$bin/dist" ci publish --manifest "$work/rel/dist.json" --json > "$work/publish.json"
check() { # $1 channel URL tail, $2 the file it must serve
  curl -sf -H "Authorization: Bearer $DIST_TOKEN" -o "$work/got" "$DIST_SERVER/d/hello/beta/$1"
  cmp -s "$work/got" "$work/rel/out/$2" || { echo "FAIL: /d/hello/beta/$1 is not $2"; exit 1; }
  echo "ok   /d/hello/beta/$1 -> $2"
}
check linux hello-dist_1.2.3-4_amd64.xz.deb
check 'linux/amd64?kind=deb' hello-dist_1.2.3-4_amd64.xz.deb
check 'linux/x86_64?kind=rpm' hello-1.0-1.x86_64-rsa.rpm
check 'linux/x86_64?kind=appimage' Hello-x86_64.AppImage
check 'linux/x86_64?kind=tarball' app-1.0-x86_64.tar.gz
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $DIST_TOKEN" "$DIST_SERVER/d/hello/beta/linux/arm64")
[ "$code" = 404 ] || { echo "FAIL: linux/arm64 answered $code, not 404"; exit 1; }
echo "ok   /d/hello/beta/linux/arm64 -> 404"
