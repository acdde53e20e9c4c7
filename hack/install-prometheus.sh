#!/usr/bin/env bash
# Installs Debian's `prometheus` package (the server and promtool) for the monitoring tests.
# Debian's postinst would start a service listening on 0.0.0.0:9090; the tests run their own
# server on loopback, so no service may start: policy-rc.d refuses every start for the duration
# of the install, and the service is disabled so no boot starts it either. Idempotent; exits at
# once when both binaries are present.
set -euo pipefail

if command -v prometheus >/dev/null && command -v promtool >/dev/null; then exit 0; fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-prometheus: needs root or sudo to apt-get install prometheus" >&2; exit 1; }
  sudo=(sudo)
fi

policy=/usr/sbin/policy-rc.d
backup=""
restore_policy() {
  if [[ -n $backup ]]; then "${sudo[@]}" mv -f "$backup" "$policy"; else "${sudo[@]}" rm -f "$policy"; fi
}
# Keep whatever policy the machine had (Docker images ship one) and put it back afterwards.
if [[ -e $policy ]]; then
  backup=$(mktemp /tmp/policy-rc.d.XXXXXX)
  "${sudo[@]}" cp -p "$policy" "$backup"
fi
trap restore_policy EXIT
printf '#!/bin/sh\n# install-prometheus.sh: no service may start during this install.\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
"${sudo[@]}" chmod 755 "$policy"

export DEBIAN_FRONTEND=noninteractive
# Only refresh the package lists when apt does not know the package yet (a fresh machine).
if ! apt-cache show prometheus >/dev/null 2>&1; then "${sudo[@]}" apt-get update -qq; fi
"${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null

# No boot may start it either.
if [[ -d /run/systemd/system ]]; then "${sudo[@]}" systemctl disable --now prometheus.service >/dev/null 2>&1 || true; fi
if command -v update-rc.d >/dev/null && [[ -e /etc/init.d/prometheus ]]; then "${sudo[@]}" update-rc.d prometheus disable >/dev/null 2>&1 || true; fi

# Prove it: nothing of the package may be listening now.
if command -v ss >/dev/null && ss -ltnp 2>/dev/null | grep -q '"prometheus"'; then
  echo "install-prometheus: a prometheus process is listening after the install:" >&2
  ss -ltnp | grep '"prometheus"' >&2
  exit 1
fi
echo "install-prometheus: $(prometheus --version 2>&1 | head -1)"
