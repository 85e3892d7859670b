#!/usr/bin/env bash
# Builds the test cluster's binaries from Go modules into .cache/kube/bin: kube-apiserver,
# kubectl, etcd and helm (the end-to-end tier), and kubelet, kube-controller-manager,
# kube-scheduler and the sandbox's pause binary (the node tier: pods on a real kubelet).
# Idempotent: a stamp of the pinned versions skips a finished build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/.cache/kube/bin"
helm_version=v3.22.0

if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<'MSG'
revisor: building the test cluster needs Go (>= 1.26), which is not on PATH.
  Install it from your OS packages or https://go.dev/dl, then run: npm run kube:assets
  (the end-to-end tests start a real kube-apiserver and etcd built from Go modules).
MSG
  exit 3
fi

kube_version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$here/tools/kube/go.mod")
etcd_version=$(sed -n 's/^require go.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\).*/\1/p' "$here/tools/etcd/go.mod")
node_version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$here/tools/node/go.mod")
[[ "$node_version" == "$kube_version" ]] || { echo "kube:assets: tools/node pins $node_version, tools/kube $kube_version" >&2; exit 3; }
stamp="kubernetes=$kube_version etcd=$etcd_version helm=$helm_version node=1 go=$(go env GOVERSION)"
all=(kube-apiserver kubectl etcd helm kubelet kube-controller-manager kube-scheduler pause)
complete=1
for b in "${all[@]}"; do [[ -x "$bin/$b" ]] || complete=0; done
if [[ -f "$bin/.stamp" && "$(cat "$bin/.stamp")" == "$stamp" && $complete == 1 ]]; then
  exit 0
fi
mkdir -p "$bin"
rm -f "$bin/.stamp"
export CGO_ENABLED=0
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
minor=${kube_version#v1.}
minor=${minor%%.*}
version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  version_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

echo "kube:assets: kube-apiserver and kubectl $kube_version" >&2
(cd "$here/tools/kube" && go build -trimpath -ldflags "-s -w $version_flags" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
(cd "$here/tools/kube" && go build -trimpath -ldflags "-s -w $version_flags" -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl)
echo "kube:assets: etcd $etcd_version" >&2
(cd "$here/tools/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" .)
echo "kube:assets: helm $helm_version" >&2
GOBIN="$bin" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version" "helm.sh/helm/v3/cmd/helm@$helm_version"
echo "kube:assets: kubelet, kube-controller-manager, kube-scheduler $kube_version (about 7 minutes on 2 cores, once)" >&2
for cmd in kubelet kube-controller-manager kube-scheduler; do
  (cd "$here/tools/node" && go build -trimpath -ldflags "-s -w $version_flags" -o "$bin/$cmd" "k8s.io/kubernetes/cmd/$cmd")
done
(cd "$here/tools/pause" && go build -trimpath -ldflags "-s -w" -o "$bin/pause" .)
echo "$stamp" >"$bin/.stamp"
