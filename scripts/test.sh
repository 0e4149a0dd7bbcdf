#!/usr/bin/env bash
# The test command (`npm test`): installs the Debian packages the suite's real servers need, only when
# missing, then type-checks and runs vitest. Arguments go to `vitest run` (a file, -t NAME, ...).
# Servers are started by test/support/global-setup.ts, not here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# postgresql-15 is preinstalled on the CI image: it is listed so a machine without it gets it, and the guard
# below keeps apt from ever touching (upgrading) an installed copy.
PACKAGES=(
  postgresql-15
  erlang-base
  mariadb-server mariadb-client
  prosody
  ejabberd erlang-p1-pgsql erlang-p1-mysql
  lua-dbi-postgresql lua-dbi-mysql lua-dbi-sqlite3
  chromium
)

installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: missing Debian packages: ${missing[*]}" >&2
    echo "Install them (nothing needs to run as a service), then re-run:" >&2
    echo "  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "scripts/test.sh: installing ${missing[*]}" >&2
  # Keep package scripts from starting system services: the tests start their own servers.
  created_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=120
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  status=0
  apt-get update -q </dev/null || status=$?
  if [ "$status" -eq 0 ]; then
    apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" </dev/null || status=$?
  fi
  if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
  if [ "$status" -ne 0 ]; then
    echo "scripts/test.sh: apt-get failed ($status) installing ${missing[*]}" >&2
    exit "$status"
  fi
fi

npx tsc -p tsconfig.test.json

status=0
npx vitest run "$@" || status=$?
exit "$status"
