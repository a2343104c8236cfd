#!/usr/bin/env bash
# Install the Debian packages pyari needs, if any are missing.
#   scripts/system-deps.sh run    what `pyari serve` needs (`make run`)
#   scripts/system-deps.sh test   that, plus what the test suite needs (`make test`; the default)
# Safe to run again: it only calls apt-get when something is absent.
set -euo pipefail
set_name="${1:-test}"
case "$set_name" in
  run | test) ;;
  *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac

# Serving: the prompts and music on hold pyari plays, and openssl for the
# README's TLS certificate.
packages=(openssl ca-certificates asterisk-core-sounds-en-wav asterisk-moh-opsound-wav)
# Opus and GSM calls and prompts: libopus (through opuslib-next) and libgsm (through
# ctypes); decision 0028.
packages+=(libopus0 libgsm1)
# The native RTP relay (pyari.rtp._relay, decision 0029) is compiled on install: a C
# compiler and the headers of the Python in use (Debian's python3-dev; a pyenv or
# python.org Python ships its own). Without them the install still succeeds and RTP is
# relayed in Python.
command -v cc >/dev/null 2>&1 || packages+=(gcc libc6-dev)
if ! python3 -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' >/dev/null 2>&1; then
  packages+=(python3-dev)
fi
# A fresh Debian needs python3-venv for `python3 -m venv` (when python3 is Debian's).
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  packages+=(python3-venv)
fi

if [ "$set_name" = test ]; then
  # The SIP interop tests drive SIPp and baresip.
  packages+=(sip-tester baresip)
  # The cluster's SIP edge tests run Kamailio (registrar + dispatcher, tests/cluster).
  packages+=(kamailio)
  # fail2ban's asterisk filter checks the security log lines (tests/security).
  packages+=(fail2ban)
  # The softphone page in a real browser (tests/e2e/test_e2e_webrtc_softphone.py):
  # headless Chromium, driven over its DevTools protocol (no chromedriver needed).
  packages+=(chromium)
  # The node ari-client interop test (tests/interop/node) needs Node.js and npm:
  # Debian's, unless a node (and its npm) is already on PATH.
  if ! command -v node >/dev/null 2>&1; then
    packages+=(nodejs npm)
  elif ! command -v npm >/dev/null 2>&1; then
    packages+=(npm)
  fi
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing Debian packages ($set_name): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
