#!/usr/bin/env bash
# Builds the image: static distd and dist for linux/amd64, the staging folder target/image/,
# the image distd:<version>-<commit> (also tagged distd:latest), and a `docker save` tarball
# target/image/distd-<version>-<commit>-amd64.tar.gz that a NAS without registry access can
# `docker load -i`.
#
#   scripts/build-image.sh                # all of it, linux/amd64
#   scripts/build-image.sh --no-save      # skip the tarball
#   scripts/build-image.sh --arch arm64   # linux/arm64: distd:<version>-<commit>-arm64 (built, not run here)
#
# Static binaries: the x86_64-unknown-linux-musl target with Debian's musl-tools (musl-gcc builds
# the bundled SQLite) when both are here; else glibc with -C target-feature=+crt-static. arm64 is
# glibc with crt-static, cross-linked by Debian's gcc-aarch64-linux-gnu (with
# `rustup target add aarch64-unknown-linux-gnu`); musl-tools' musl-gcc builds for the host only.
# Environment: DOCKER (the docker client, default `docker`; it needs BuildKit, e.g. Debian's
# /usr/bin/docker with DOCKER_BUILDKIT=1), IMAGE (the repository name, default distd).
set -euo pipefail
cd "$(dirname "$0")/.."

save=1
arch=amd64
while [ $# -gt 0 ]; do
  case "$1" in
    --no-save) save=0 ;;
    --arch) arch=${2:-}; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "build-image.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$arch" in amd64|arm64) ;; *) echo "build-image.sh: --arch amd64 or arm64" >&2; exit 2 ;; esac
DOCKER=${DOCKER:-docker}
IMAGE=${IMAGE:-distd}

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi
tag="$version-$commit"
[ "$arch" = amd64 ] || tag="$tag-$arch"
export DIST_COMMIT="$commit"   # the binaries' --version says the same as the tag

# 1. Static binaries.
musl=x86_64-unknown-linux-musl
if [ "$arch" = arm64 ]; then
  target=aarch64-unknown-linux-gnu
  echo "== static binaries: $target with crt-static, linked by aarch64-linux-gnu-gcc"
  command -v aarch64-linux-gnu-gcc >/dev/null || {
    echo "build-image.sh: arm64 needs Debian's gcc-aarch64-linux-gnu and 'rustup target add $target'" >&2
    exit 1
  }
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --release --locked --target "$target" -p server -p cli
elif rustup target list --installed 2>/dev/null | grep -qx "$musl" && command -v musl-gcc >/dev/null; then
  target=$musl
  echo "== static binaries: $target (musl-gcc for the bundled SQLite)"
  CC_x86_64_unknown_linux_musl=musl-gcc \
    cargo build --release --locked --target "$target" -p server -p cli
else
  target=x86_64-unknown-linux-gnu
  echo "== static binaries: $target with crt-static (no musl target or no musl-gcc here;" \
       "'rustup target add $musl' and Debian's musl-tools give the musl build)"
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --release --locked --target "$target" -p server -p cli
fi
bin=target/$target/release
for b in distd dist; do
  if readelf -lW "$bin/$b" | grep -q 'program interpreter'; then
    echo "build-image.sh: $bin/$b is dynamically linked; the image has no libc" >&2
    exit 1
  fi
done

# 2. Staging folder: everything the image holds.
stage=target/image
rm -rf "$stage/rootfs" "$stage/data"
mkdir -p "$stage/rootfs/usr/local/bin" "$stage/rootfs/etc/ssl/certs" "$stage/rootfs/tmp" "$stage/data"
for b in distd dist; do
  cp "$bin/$b" "$stage/rootfs/usr/local/bin/$b"
  if [ "$arch" = arm64 ]; then
    aarch64-linux-gnu-strip "$stage/rootfs/usr/local/bin/$b"
  else
    strip "$stage/rootfs/usr/local/bin/$b"
  fi
done
ca=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$ca" ]; then
  echo "build-image.sh: $ca is missing; install Debian's ca-certificates" >&2
  exit 1
fi
cp "$ca" "$stage/rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\ndist:x:10001:10001:dist:/data:/sbin/nologin\n' >"$stage/rootfs/etc/passwd"
printf 'root:x:0:\ndist:x:10001:\n' >"$stage/rootfs/etc/group"
chmod 1777 "$stage/rootfs/tmp"
chmod 0755 "$stage/rootfs/usr/local/bin/"*

# 3. The image.
echo "== image $IMAGE:$tag"
source_url=$(git remote get-url origin 2>/dev/null || echo unknown)
DOCKER_BUILDKIT=1 "$DOCKER" build --platform "linux/$arch" \
  --build-arg VERSION="$version" \
  --build-arg COMMIT="$commit" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --build-arg SOURCE="$source_url" \
  -t "$IMAGE:$tag" $([ "$arch" = amd64 ] && echo "-t $IMAGE:latest") .
size=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE:$tag")
echo "image $IMAGE:$tag: $size bytes ($((size / 1024 / 1024)) MiB)"

# 4. The tarball for `docker load`.
if [ "$save" = 1 ]; then
  out="$stage/$IMAGE-$version-$commit-$arch.tar.gz"
  "$DOCKER" save "$IMAGE:$tag" | gzip -6 >"$out"
  echo "wrote $out ($(stat -c %s "$out") bytes); on the NAS: docker load -i $(basename "$out")"
fi
