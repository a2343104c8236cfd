#!/usr/bin/env bash
# Rebuild the softphone's browser bundle of JsSIP from the pinned npm packages
# (web/softphone/package.json + package-lock.json) and vendor it, with the licenses of
# everything inside it, into src/pyari/http/static/softphone/vendor/ (`make softphone`).
# The result is committed, so `make run` needs neither node nor the network
# (docs/decisions/0026-webrtc-softphone.md).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
src="$here/web/softphone"
dest="$here/src/pyari/http/static/softphone/vendor"
cd "$src"
npm ci --no-audit --no-fund --loglevel=error
npm run -s build
mkdir -p "$dest"
cp build/jssip.min.js "$dest/jssip.min.js"
{
  echo "Licenses of the code bundled in jssip.min.js (npm packages, versions in"
  echo "web/softphone/package-lock.json)."
  for pkg in jssip debug events ms sdp-transform; do
    dir="node_modules/$pkg"
    version="$(node -p "require('./$dir/package.json').version")"
    echo
    echo "==== $pkg $version ===="
    echo
    cat "$dir"/[Ll][Ii][Cc][Ee][Nn][Ss][Ee]*
  done
} > "$dest/LICENSES.txt"
echo "vendored: $dest/jssip.min.js ($(wc -c < "$dest/jssip.min.js") bytes) and LICENSES.txt"
