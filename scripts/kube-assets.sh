#!/usr/bin/env bash
# Builds the test cluster's binaries from Go modules into .cache/kube/bin.
#   kube-assets.sh [apiserver|cluster|node]...   (no argument: all of them)
#   apiserver: kube-apiserver, kubectl and etcd (what npm run demo's operator part needs)
#   cluster:   those and helm (the end-to-end tier)
#   node:      kubelet, kube-controller-manager, kube-scheduler and the sandbox's pause
#              binary (the node tier: pods on a real kubelet)
# Idempotent: each binary has a stamp of the pinned versions, and a built one is reused.
# Without Go >= 1.26 on PATH it fetches the Go toolchain from the Go module proxy (the
# golang.org/toolchain module, as `go` itself does for GOTOOLCHAIN) into .cache/go.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/.cache/kube/bin"
helm_version=v3.22.0
go_version=1.26.8

say() { echo "kube:assets: $*" >&2; }

go_is_recent() {
  local v
  v=$("$1" env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%[.a-z]*}
  ((major > 1 || (major == 1 && minor >= 26)))
}

if ! command -v go >/dev/null 2>&1 || ! go_is_recent go; then
  toolchain="$here/.cache/go/go$go_version"
  if [[ ! -x "$toolchain/bin/go" ]]; then
    case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
    module="v0.0.1-go$go_version.linux-$arch"
    proxy=${GOPROXY:-https://proxy.golang.org}
    proxy=${proxy%%,*}
    say "no Go >= 1.26 on PATH: fetching Go $go_version from $proxy (about 70 MB, once)"
    mkdir -p "$here/.cache/go"
    zip="$here/.cache/go/$module.zip"
    curl -fL --progress-bar -o "$zip" "$proxy/golang.org/toolchain/@v/$module.zip"
    rm -rf "$here/.cache/go/unpacked"
    if command -v unzip >/dev/null 2>&1; then
      unzip -q "$zip" -d "$here/.cache/go/unpacked"
    else
      python3 -m zipfile -e "$zip" "$here/.cache/go/unpacked"
    fi
    # Zip entries of the module carry no mode bits an extractor always keeps.
    chmod -R u+x "$here/.cache/go/unpacked/golang.org/toolchain@$module/bin" \
      "$here/.cache/go/unpacked/golang.org/toolchain@$module/pkg/tool"
    rm -rf "$toolchain"
    mv "$here/.cache/go/unpacked/golang.org/toolchain@$module" "$toolchain"
    rm -rf "$here/.cache/go/unpacked" "$zip"
  fi
  export PATH="$toolchain/bin:$PATH" GOTOOLCHAIN=local
fi

kube_version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$here/tools/kube/go.mod")
etcd_version=$(sed -n 's/^require go.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\).*/\1/p' "$here/tools/etcd/go.mod")
node_version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$here/tools/node/go.mod")
[[ "$node_version" == "$kube_version" ]] || { say "tools/node pins $node_version, tools/kube $kube_version"; exit 3; }
stamp="kubernetes=$kube_version etcd=$etcd_version helm=$helm_version go=$(go env GOVERSION)"

groups=("$@")
((${#groups[@]})) || groups=(cluster node)
wanted=()
for group in "${groups[@]}"; do
  case "$group" in
    apiserver) wanted+=(kube-apiserver kubectl etcd) ;;
    cluster) wanted+=(kube-apiserver kubectl etcd helm) ;;
    node) wanted+=(kubelet kube-controller-manager kube-scheduler pause) ;;
    *) say "unknown group \"$group\" (apiserver, cluster or node)"; exit 2 ;;
  esac
done

mkdir -p "$bin"
export CGO_ENABLED=0
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
minor=${kube_version#v1.}
minor=${minor%%.*}
version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  version_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

# Cold, on 2 cores with the module cache empty; a warm Go build cache makes each a few seconds.
declare -A estimate=(
  [kube-apiserver]="about 5 minutes" [kubectl]="about 30 s after it" [etcd]="about 30 s"
  [helm]="about 1 minute" [kubelet]="about 2 minutes" [kube-controller-manager]="about 2 minutes"
  [kube-scheduler]="about 1 minute" [pause]="a few seconds"
)

build() {
  local name=$1
  case "$name" in
    kube-apiserver | kubectl)
      (cd "$here/tools/kube" && go build -trimpath -ldflags "-s -w $version_flags" -o "$bin/$name" "k8s.io/kubernetes/cmd/$name") ;;
    kubelet | kube-controller-manager | kube-scheduler)
      (cd "$here/tools/node" && go build -trimpath -ldflags "-s -w $version_flags" -o "$bin/$name" "k8s.io/kubernetes/cmd/$name") ;;
    etcd) (cd "$here/tools/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" .) ;;
    pause) (cd "$here/tools/pause" && go build -trimpath -ldflags "-s -w" -o "$bin/pause" .) ;;
    helm)
      GOBIN="$bin" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version" \
        "helm.sh/helm/v3/cmd/helm@$helm_version" ;;
  esac
}

declare -A done_already=()
todo=()
for name in "${wanted[@]}"; do
  [[ -n "${done_already[$name]:-}" ]] && continue
  done_already[$name]=1
  if [[ -x "$bin/$name" && -f "$bin/.stamp.$name" && "$(cat "$bin/.stamp.$name")" == "$stamp" ]]; then continue; fi
  todo+=("$name")
done
((${#todo[@]})) || exit 0
say "building ${todo[*]} from Go modules into .cache/kube/bin (once; reused after)"
index=0
for name in "${todo[@]}"; do
  index=$((index + 1))
  rm -f "$bin/.stamp.$name"
  say "[$index/${#todo[@]}] $name (${estimate[$name]} cold)"
  started=$SECONDS
  build "$name"
  echo "$stamp" >"$bin/.stamp.$name"
  say "[$index/${#todo[@]}] $name built in $((SECONDS - started)) s"
done
