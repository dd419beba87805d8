# Shared helpers for the project's scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# One target directory for every build step (tests, clippy, lambda builds, benches).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export SAM_CLI_TELEMETRY=0

step() { printf '\n==> %s\n' "$*"; }

# make_venv NAME REQUIREMENTS: a virtualenv under .venv/NAME with pinned requirements,
# reinstalled only when the requirements file changes.
make_venv() {
  local name="$1" req="$2" dir="$ROOT/.venv/$1"
  local stamp="$dir/.requirements"
  if [ -x "$dir/bin/python" ] && cmp -s "$req" "$stamp"; then return 0; fi
  command -v python3 >/dev/null || { echo "python3 is required (apt-get install python3 python3-venv)"; exit 1; }
  step "installing Python tools ($name) from ${req#$ROOT/}"
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
}
