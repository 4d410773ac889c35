#!/usr/bin/env bash
# System packages: `run` needs espeak-ng (the offline voice); `test` also needs sox (to
# measure WAVs by hand), Chromium and a CJK font (the pages' tests; without the font every
# Hanzi is a box), the sqlite3 shell, PostgreSQL and haproxy; `bench` also wrk.
# Installs what is missing when run as root; otherwise says what to install.
set -euo pipefail
mode=${1:-test}
missing=()
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
if [ "$mode" = test ]; then
  command -v sox >/dev/null || missing+=(sox)
  command -v chromium >/dev/null || missing+=(chromium)
  # the audit test edits a row with the sqlite3 shell, as someone tampering would
  command -v sqlite3 >/dev/null || missing+=(sqlite3)
  fc-list 2>/dev/null | grep -qi "wqy\|WenQuanYi" || missing+=(fonts-wqy-microhei)
  # the suite's second run is on a real PostgreSQL server the tests start (tests/backends.py),
  # and several server processes run behind a real haproxy (tests/test_cluster.py)
  test -x /usr/lib/postgresql/15/bin/postgres || missing+=(postgresql)
  command -v haproxy >/dev/null || missing+=(haproxy)
fi
# tests/test_cluster.py and bench/cluster.py put the server processes behind a real haproxy;
# bench/run.py and bench/cluster.py load them with wrk
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
fi
if [ "$mode" = bench ]; then
  command -v wrk >/dev/null || missing+=(wrk)
  [ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "missing system packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
