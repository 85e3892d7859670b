#!/usr/bin/env bash
# The integration tests put a real PgBouncer in front of PostgreSQL. Debian's package is
# installed when it is missing and this runs as root (CI); otherwise it says what to do.
set -euo pipefail
if [[ -x /usr/sbin/pgbouncer || -x /usr/bin/pgbouncer ]]; then exit 0; fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "test: installing pgbouncer (Debian package)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
  # The package's service is not wanted: each test starts its own PgBouncer.
  service pgbouncer stop >/dev/null 2>&1 || true
  exit 0
fi
echo "revisor: the tests need pgbouncer (apt-get install pgbouncer, or your OS's package)" >&2
exit 3
