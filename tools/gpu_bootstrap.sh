#!/usr/bin/env bash
# The GPU check on a bare machine in one command: install the stack from a carried wheelhouse,
# compile MMCV's ops with all cores, run tools/gpu_check.py and print its one table.
#
#   bash tools/gpu_bootstrap.sh --download     # here, with a package index: fill .whl/ (~10 MiB)
#   bash tools/gpu_bootstrap.sh                # there: Python 3.12 + torch, no index, .whl/ carried
#   bash tools/gpu_bootstrap.sh --dry-run      # print the steps; check .whl/ when it is there
#
# Options: --cuda-ops (compile MMCV's CUDA ops too, for the GPU's architecture only; needs nvcc),
# --wheelhouse DIR (default .whl), and after `--` arguments for tools/gpu_check.py (they follow
# the defaults below, so they win). Environment: PYTHON (python3), MAX_JOBS (all cores),
# GPU_DEADLINE (seconds from the start by which the table is out, default 560: a device call
# runs 600 s at most), GPU_SITE / GPU_BUILD (install and build folders under /tmp), OUT (where
# results are copied when set, as on the device machine).
#
# Why CPU ops by default: this project calls no MMCV op (mmcv.ops is only imported, by mmseg and
# mmpretrain), so the CPU build is all the check needs: 77 C++ files, ~13 min on 2 cores (NOTES),
# i.e. ~2 min with 16 jobs. --cuda-ops adds 58 CUDA files (nvcc, sm_90 only) and 1 C++ file;
# measured on the 2-core CPU machine (nvcc 13.0, torch 2.14 headers, -std=c++20): a CUDA file
# ~118 s against ~54 s for a C++ file, so the whole CUDA build is ~2.4x the CPU one, ~4-5 min
# with 16 jobs: it would leave too little of the 10 minutes for the check itself.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
WHEELS="$ROOT/.whl"
SITE="${GPU_SITE:-/tmp/mmseg_hfpl_site}"
BUILD="${GPU_BUILD:-/tmp/mmseg_hfpl_build}"
DEADLINE="${GPU_DEADLINE:-560}"
JOBS="${MAX_JOBS:-$(nproc)}"
MODE=run
OPS=cpu
CHECK_ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --download) MODE=download ;;
        --dry-run) MODE=dry-run ;;
        --cuda-ops) OPS=cuda ;;
        --cpu-ops) OPS=cpu ;;
        --wheelhouse) WHEELS="$(cd "$2" 2>/dev/null && pwd || echo "$2")"; shift ;;
        --) shift; CHECK_ARGS=("$@"); break ;;
        -h|--help) sed -n "2,21p" "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu_bootstrap: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
WORK="$ROOT/work_dirs/gpu_check"
# the hfpl twins first (base + add-on), the baselines after them while the budget lasts
DEFAULT_CHECK_ARGS=(--out "$WORK" --iters 10 --configs seam_hfpl sipe_hfpl pmm_hfpl
                    mctformer_hfpl sbce_hfpl seam sipe pmm mctformer sbce)

say() { printf '[gpu_bootstrap %3ds] %s\n' "$SECONDS" "$*" >&2; }
# print a step; run it unless this is a dry run
step() {
    say "$1"; shift
    printf '    $ %s\n' "$*" >&2
    [ "$MODE" = dry-run ] || "$@"
}

if [ "$MODE" = download ]; then
    # mmcv's source metadata needs setuptools < 82 and wheel: the project's venv has both
    [ -n "${PYTHON:-}" ] || { [ -x "$ROOT/.venv/bin/python" ] && PY="$ROOT/.venv/bin/python"; }
    say "downloading tools/gpu_wheels.txt into $WHEELS with $PY"
    exec "$PY" "$ROOT/tools/gpu_wheelhouse.py" download "$WHEELS"
fi

# ---- 0. the wheelhouse and the machine ---------------------------------------------------------
if [ -d "$WHEELS" ]; then  # checked in a dry run too: it stops here on any problem
    say "checking the wheelhouse against tools/gpu_wheels.txt"
    "$PY" "$ROOT/tools/gpu_wheelhouse.py" check "$WHEELS" >&2
    mapfile -t WHL < <("$PY" "$ROOT/tools/gpu_wheelhouse.py" files "$WHEELS" --kind wheel)
    SOURCES="$("$PY" "$ROOT/tools/gpu_wheelhouse.py" files "$WHEELS" --kind source)"
    MMCV_SDIST="$(grep '/mmcv-' <<< "$SOURCES")"
    CRF_SDIST="$(grep '/pydensecrf2-' <<< "$SOURCES")"
elif [ "$MODE" = dry-run ]; then
    say "no wheelhouse at $WHEELS yet (fill it here with: bash tools/gpu_bootstrap.sh --download)"
    WHL=("$WHEELS/<each wheel of tools/gpu_wheels.txt>")
    MMCV_SDIST="$WHEELS/mmcv-2.1.0.tar.gz"
    CRF_SDIST="$WHEELS/pydensecrf2-1.1.tar.gz"
else
    say "no wheelhouse at $WHEELS: run 'bash tools/gpu_bootstrap.sh --download' where pip" \
        "reaches an index, and bring .whl/ along"
    exit 1
fi
# torch compiles extensions in parallel only through ninja (else one file at a time: ~26 min);
# the pip package's binary lies beside the interpreter or in ninja.BIN_DIR
if ! command -v ninja >/dev/null; then
    for d in "$("$PY" -c 'import os, sys; print(os.path.dirname(sys.executable))' 2>/dev/null)" \
             "$("$PY" -c 'import ninja; print(ninja.BIN_DIR)' 2>/dev/null)"; do
        [ -n "$d" ] && [ -x "$d/ninja" ] && export PATH="$d:$PATH" && break
    done
fi
say "ninja: $(command -v ninja || echo 'none: MMCV compiles one file at a time (slow)')"
if [ "$OPS" = cuda ] && ! command -v nvcc >/dev/null; then
    say "--cuda-ops but no nvcc on PATH: compiling the CPU ops"
    OPS=cpu
fi
say "MMCV ops: $OPS ($JOBS jobs); the table by ${DEADLINE} s;" \
    "nvcc: $(command -v nvcc || echo none)"
if [ "$MODE" = run ]; then
    rm -rf "$SITE" "$BUILD"
    mkdir -p "$SITE" "$BUILD/dist" "$WORK"
fi
ROWS="$BUILD/bootstrap_rows.json"
row() {  # row CHECK STATUS TIME NOTES [fatal]: one row of the table, kept for gpu_check
    [ "$MODE" = dry-run ] && return 0
    "$PY" - "$ROWS" "$@" <<'PY'
import json, os, sys
path, check, status, time, notes = sys.argv[1:6]
rows = json.load(open(path)) if os.path.exists(path) else []
rows.append(dict(check=check, status=status, time=time, notes=notes,
                 **({'fatal': True} if sys.argv[6:] == ['fatal'] else {})))
json.dump(rows, open(path, 'w'), indent=1)
PY
}
finish() {  # the table of the rows so far (gpu_check prints it), copied to $OUT
    "$PY" "$ROOT/tools/gpu_check.py" --rows-from "$ROWS" || true
    [ -z "${OUT:-}" ] || cp "$ROWS" "$BUILD"/*.log "$OUT"/ 2>/dev/null || true
    exit 1
}

# ---- 1. the wheels -----------------------------------------------------------------------------
t=$SECONDS
step "installing ${#WHL[@]} wheels into $SITE (no index, no dependencies)" \
    "$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile \
    --no-cache-dir --upgrade --target "$SITE" "${WHL[@]}"
export PYTHONPATH="$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
say "PYTHONPATH=$PYTHONPATH (this package is used in place)"
if [ "$MODE" = run ]; then
    # Python 3.12 has no distutils (mmengine's collect_env imports it): setuptools provides it
    # through a .pth file, which a --target folder on PYTHONPATH does not run; do it there.
    if ! "$PY" -c "import distutils" 2>/dev/null; then
        say "distutils missing: $SITE/sitecustomize.py processes the .pth files of $SITE"
        printf 'import os, site\nsite.addsitedir(os.path.dirname(os.path.abspath(__file__)))\n' \
            > "$SITE/sitecustomize.py"
    fi
    row "bootstrap: wheels" ok "$((SECONDS - t)) s" "${#WHL[@]} wheels into $SITE"
fi

# ---- 2. MMCV and pydensecrf, compiled at once --------------------------------------------------
t=$SECONDS
say "pydensecrf2 in the background (Cython 0.29.36 from the wheelhouse)"
CRF_CMD=("$PY" -m pip wheel -q --disable-pip-version-check --no-index --no-deps
         --no-build-isolation --no-cache-dir -w "$BUILD/dist" "$CRF_SDIST")
printf '    $ %s > %s\n' "${CRF_CMD[*]}" "$BUILD/pydensecrf_build.log" >&2
if [ "$MODE" = run ]; then
    (if "${CRF_CMD[@]}" > "$BUILD/pydensecrf_build.log" 2>&1; then rc=0; else rc=$?; fi
     echo "$rc" > "$BUILD/pydensecrf.rc"; echo $((SECONDS - t)) > "$BUILD/pydensecrf.s") &
    CRF_PID=$!
fi

MMCV_SRC="$BUILD/mmcv-2.1.0"
step "unpacking mmcv 2.1.0" tar xzf "$MMCV_SDIST" -C "$BUILD"
# torch >= 2.10 headers need C++20; mmcv 2.1.0's setup.py asks for C++17 for both the C++
# compiler and nvcc (torch adds its own standard only when none is given): raise it in place
step "mmcv setup.py: -std=c++17 -> -std=c++20 (C++ and nvcc flags)" \
    sed -i 's/-std=c++17/-std=c++20/g' "$MMCV_SRC/setup.py"
if [ "$MODE" = run ] && grep -q 'std=c++17' "$MMCV_SRC/setup.py"; then
    row "bootstrap: mmcv 2.1.0" FAIL "" "setup.py still asks for C++17" fatal; finish
fi
if [ "$OPS" = cuda ]; then
    # the GPU's own architecture only (sm_90 on an H100 / H200)
    ARCH="${TORCH_CUDA_ARCH_LIST:-$("$PY" -c 'import torch
print("%d.%d" % torch.cuda.get_device_capability())' 2>/dev/null || echo 9.0)}"
    OPS_ENV=(FORCE_CUDA=1 "TORCH_CUDA_ARCH_LIST=$ARCH")
    OPS_NOTE="CUDA + CPU ops for sm_${ARCH/./}"
else
    # setup.py builds CUDA ops whenever torch sees a GPU: hide it from the build
    OPS_ENV=(FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=)
    OPS_NOTE="CPU ops"
fi
MMCV_CMD=(env MMCV_WITH_OPS=1 "MAX_JOBS=$JOBS" "${OPS_ENV[@]}" "$PY" -m pip wheel -v
          --disable-pip-version-check --no-index --no-deps --no-build-isolation --no-cache-dir
          -w "$BUILD/dist" "$MMCV_SRC")
say "compiling mmcv 2.1.0 with $OPS_NOTE, $JOBS jobs (log: $BUILD/mmcv_build.log)"
printf '    $ (cd %s && %s) > %s\n' "$MMCV_SRC" "${MMCV_CMD[*]}" "$BUILD/mmcv_build.log" >&2
if [ "$MODE" = run ]; then
    if ! (cd "$MMCV_SRC" && "${MMCV_CMD[@]}") > "$BUILD/mmcv_build.log" 2>&1; then
        tail -n 30 "$BUILD/mmcv_build.log" >&2
        row "bootstrap: mmcv 2.1.0" FAIL "$((SECONDS - t)) s" \
            "$OPS_NOTE: build failed, see mmcv_build.log" fatal
        finish
    fi
    MMCV_S=$((SECONDS - t))
    say "mmcv compiled with $OPS_NOTE in $MMCV_S s"
    row "bootstrap: mmcv 2.1.0" ok "$MMCV_S s" "compiled with $OPS_NOTE, MAX_JOBS=$JOBS"
    wait "$CRF_PID" || true
    if [ "$(cat "$BUILD/pydensecrf.rc")" = 0 ]; then
        row "bootstrap: pydensecrf2 1.1" ok "$(cat "$BUILD/pydensecrf.s") s" \
            "built beside mmcv"
    else
        tail -n 5 "$BUILD/pydensecrf_build.log" >&2
        row "bootstrap: pydensecrf2 1.1" skipped "$(cat "$BUILD/pydensecrf.s") s" \
            "build failed (pydensecrf_build.log): CRF parts skipped"
    fi
fi
step "installing the compiled wheels into $SITE" \
    "$PY" -m pip install -q --disable-pip-version-check --no-index --no-deps --no-compile \
    --no-cache-dir --target "$SITE" "$BUILD"/dist/*.whl

# ---- 3. the stack imports ----------------------------------------------------------------------
IMPORTS='import numpy, torch, mmcv, mmcv.ops, mmengine, mmseg, mmpretrain, mmseg_hfpl
print(", ".join(f"{m.__name__} {m.__version__}"
                for m in (torch, numpy, mmcv, mmengine, mmseg, mmpretrain)))'
say "importing the stack"
printf '    $ %s -c "import numpy, torch, mmcv, mmcv.ops, mmengine, mmseg, mmpretrain, mmseg_hfpl"\n' \
    "$PY" >&2
if [ "$MODE" = run ]; then
    if VERSIONS="$("$PY" -c "$IMPORTS" 2>"$BUILD/imports.log")"; then
        row "bootstrap: imports" ok "" "$VERSIONS"
    else
        tail -n 20 "$BUILD/imports.log" >&2
        row "bootstrap: imports" FAIL "" "$(tail -n 1 "$BUILD/imports.log")" fatal; finish
    fi
fi

# ---- 4. the check ------------------------------------------------------------------------------
BUDGET=$((DEADLINE - SECONDS))
step "tools/gpu_check.py with ${BUDGET} s left" \
    "$PY" "$ROOT/tools/gpu_check.py" --rows-from "$ROWS" --budget "$BUDGET" \
    "${DEFAULT_CHECK_ARGS[@]}" ${CHECK_ARGS[@]+"${CHECK_ARGS[@]}"} && rc=0 || rc=$?
if [ "$MODE" = dry-run ]; then
    say "dry run: nothing installed or compiled"
    exit 0
fi
if [ -n "${OUT:-}" ]; then  # what comes back from the device machine (8 files at most)
    cp "$ROWS" "$BUILD/mmcv_build.log" "$OUT"/ 2>/dev/null || true
    cp "$WORK/gpu_check.json" "$OUT"/ 2>/dev/null || true
    tar czf "$OUT/gpu_check_logs.tar.gz" -C "$ROOT/work_dirs" --exclude='*.pth' \
        --exclude='VOC2012' --exclude='*.npz' --exclude='*.png' gpu_check 2>/dev/null || true
fi
say "done in $SECONDS s (gpu_check exit code $rc)"
exit "$rc"
