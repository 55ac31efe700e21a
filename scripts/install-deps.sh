#!/usr/bin/env bash
# Installs what builds and tests need, idempotently and quietly:
#   - Debian packages, only when missing
#   - the Python test peers in a project-local venv (.venv) from tools/reference/requirements.txt
set -euo pipefail
cd "$(dirname "$0")/.."

# Build needs: plotters renders text through fontconfig/freetype with the DejaVu fonts.
APT_PACKAGES=(pkg-config libfontconfig1-dev libfreetype-dev fonts-dejavu-core)
# python3-venv only when the interpreter cannot create venvs by itself.
python3 -c "import venv, ensurepip" 2>/dev/null || APT_PACKAGES+=(python3-venv)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo not found; install Rust (rustup) first" >&2
  exit 1
fi

REQ=tools/reference/requirements.txt
STAMP=.venv/.requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r "$REQ"
  echo "$want" > "$STAMP"
fi
