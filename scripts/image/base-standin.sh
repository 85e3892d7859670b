#!/usr/bin/env bash
# A stand-in for the Dockerfile's base image (node:24-bookworm-slim) under that very name,
# in buildah's local storage, for machines that reach no container registry (this one and
# CI): Debian bookworm from Debian's packages (debootstrap, minbase) with the pinned Node 24
# from npm (the `node` package's binary) and npm itself from the npm registry, laid out as
# the official image lays them out (/usr/local/bin/node, npm, npx). Built once per recipe:
# an image labelled with this recipe's digest is reused.
# Anyone with a registry builds the same Dockerfile against the real base.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
storage=(--storage-driver vfs)
name=docker.io/library/node:24-bookworm-slim
node_bin=$("$here/node_modules/.bin/node" -e 'process.stdout.write(process.execPath)')
node_version=$("$node_bin" --version)
npm_version=$(npm --version)
recipe=$(cat "$0" /etc/apt/sources.list.d/debian.sources /etc/ssl/certs/ca-certificates.crt | sha256sum | cut -c1-16)-$node_version-$npm_version
if [[ "$(buildah "${storage[@]}" inspect --type image --format '{{index .ImageAnnotations "dev.revisor.standin"}}' "$name" 2>/dev/null)" == "$recipe" ]]; then
  exit 0
fi
echo "image: building a stand-in for $name (Debian bookworm minbase, Node $node_version, npm $npm_version); about 2 minutes" >&2
work=$(mktemp -d /tmp/revisor-standin-XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources | head -n 1)
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/debian.sources"
rm -f "$root/etc/apt/sources.list"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules/npm"
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
tar -xzf "$work/npm-$npm_version.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# The stand-in trusts what this machine trusts (its CA bundle, for npm inside the build
# steps): a registry reached through a TLS-inspecting proxy is otherwise refused.
mkdir -p "$root/etc/ssl/certs" "$root/usr/local/etc"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$root/usr/local/etc/npmrc"
container=$(buildah "${storage[@]}" from scratch)
mount=$(buildah "${storage[@]}" mount "$container")
cp -a "$root/." "$mount/"
buildah "${storage[@]}" umount "$container" >/dev/null
buildah "${storage[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="${node_version#v}" --cmd node --annotation "dev.revisor.standin=$recipe" "$container"
buildah "${storage[@]}" commit --quiet --rm "$container" "$name" >/dev/null
echo "image: $name stand-in built" >&2
