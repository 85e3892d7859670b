#!/usr/bin/env bash
# Regenerates tools/kube/go.mod for one Kubernetes release. k8s.io/kubernetes points its
# staging modules at ./staging/..., which a dependent module cannot use; the release
# publishes each of them as k8s.io/<name> v0.<minor>.<patch>, so the replace list is
# derived from the release's own go.mod rather than typed by hand.
set -euo pipefail
version=${1:?usage: kube-gomod.sh v1.X.Y}
staging_version="v0.${version#v1.}"
here=$(cd "$(dirname "$0")/.." && pwd)
moddir="$here/tools/kube"
gomod=$(cd "$moddir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
{
  echo "module revisor.dev/tools/kube"
  echo
  grep -E '^go ' "$gomod"
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  echo "replace ("
  grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging/' "$gomod" | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} >"$moddir/go.mod"
cd "$moddir"
rm -f go.sum
go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$version" "k8s.io/kubernetes/cmd/kubectl@$version"
go mod tidy
