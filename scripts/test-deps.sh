#!/usr/bin/env bash
# System tools the tests use besides what npm brings: a real PgBouncer in front of
# PostgreSQL, openssl for self-signed server certificates, and pg_dump for --backup (the
# backup test runs it against a PostgreSQL of the same major version, from npm), Lua
# for the Argo CD health check, and buildah, debootstrap and runc for the image. Debian's packages are
# installed when missing and this runs as root (CI); otherwise it says what to do.
set -euo pipefail
missing=()
[[ -x /usr/sbin/pgbouncer || -x /usr/bin/pgbouncer ]] || missing+=(pgbouncer)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)
# The image tier: buildah builds the Dockerfile, debootstrap the stand-in for its base
# image (no registry is reachable here), runc runs it as a kubelet would.
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v runc >/dev/null 2>&1 || missing+=(runc)
# The node tier: a real kubelet runs pods on containerd, networked by the CNI bridge plugin.
command -v containerd >/dev/null 2>&1 || missing+=(containerd)
[[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "test: installing ${missing[*]} (Debian packages)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # The package's service is not wanted: each test starts its own PgBouncer.
  service pgbouncer stop >/dev/null 2>&1 || true
  exit 0
fi
echo "revisor: the tests need ${missing[*]} (apt-get install ${missing[*]}, or your OS's packages)" >&2
exit 3
