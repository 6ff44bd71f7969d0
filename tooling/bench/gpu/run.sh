#!/bin/sh
# Recur's GPU benchmark, from the folder that tooling/bench/gpu/pack.mjs builds (default .gpu/):
# recur-webgpu (Dawn on Vulkan) and PyTorch (cuDNN, f32, TF32 off) on the same workloads, checked
# against recur-js, timed in turns, in one run. Needs only a POSIX shell, python3 with torch for the
# pytorch rows, and an NVIDIA driver with Vulkan; Node, Dawn and the Vulkan loader come in the folder.
#
#   sh .gpu/run.sh            # --workload W1,W2,W4,W6 --system recur-webgpu,pytorch --reps 20 --warmup 3,
#                             # then the WebGPU profile (gpu-profile.json/.txt under $OUT)
#   sh .gpu/run.sh --workload W6 --system recur-webgpu,pytorch --reps 20 --warmup 3
#
# With arguments, they replace the defaults (any option of `pnpm bench`). The table goes to stdout,
# progress to stderr; with $OUT set, the JSON report is written to $OUT/gpu-bench.json and the
# table to $OUT/gpu-bench.txt.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)

# Decompresses $1 to $2 (xz, or Python's lzma where xz is missing), through a temporary file.
unxz_to() {
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1" >"$2.tmp"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2.tmp"
  fi
  mv "$2.tmp" "$2"
}

# Extracts the .deb $1 into the folder $2 (dpkg -x, or ar + tar, or Python where neither exists).
deb_extract() {
  if command -v dpkg >/dev/null 2>&1; then
    dpkg -x "$1" "$2"
  else
    python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"!<arch>\n", "not a .deb (ar archive)"
pos = 8
while pos < len(data):
    name = data[pos:pos + 16].decode().strip().rstrip("/")
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    pos += 60 + size + (size & 1)
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
        break
else:
    sys.exit("no data.tar in the .deb")
PY
  fi
}

NODE=$HERE/bin/node
if [ ! -x "$NODE" ]; then
  mkdir -p "$HERE/bin"
  unxz_to "$HERE/node.xz" "$NODE"
  chmod +x "$NODE"
fi
DAWN=$HERE/app/node_modules/webgpu/dist/linux-x64/dawn.node
[ -f "$DAWN" ] || unxz_to "$DAWN.xz" "$DAWN"

# Dawn's libstdc++ needs GLIBCXX_3.4.30 (GCC 12); where the system's is older, the packed one goes first.
SYS_STDCXX=$( (ldconfig -p 2>/dev/null || true) | sed -n 's/.*libstdc++\.so\.6 (libc6,x86-64) => //p' | head -n 1)
if [ -z "$SYS_STDCXX" ] || ! grep -qa 'GLIBCXX_3\.4\.30' "$SYS_STDCXX"; then
  [ -f "$HERE/lib/libstdc++.so.6" ] || unxz_to "$HERE/lib/libstdc++.so.6.xz" "$HERE/lib/libstdc++.so.6"
  LD_LIBRARY_PATH=$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH
  echo "run.sh: the system's libstdc++ lacks GLIBCXX_3.4.30; using the packed one" >&2
fi

# The Vulkan loader (libvulkan.so.1), which Dawn opens: installed from the packed .deb when missing,
# into / (dpkg -x, ldconfig) as root, else into a folder of ours on LD_LIBRARY_PATH.
DEB=$(ls "$HERE"/libvulkan1_*.deb)
if [ "${RECUR_GPU_LOCAL_VULKAN:-}" = 1 ] || ! (ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '); then
  if [ "${RECUR_GPU_LOCAL_VULKAN:-}" != 1 ] && [ "$(id -u)" = 0 ]; then
    deb_extract "$DEB" /
    ldconfig
    echo "run.sh: installed the Vulkan loader from $(basename "$DEB") into /" >&2
  else
    deb_extract "$DEB" "$HERE/sysroot"
    LD_LIBRARY_PATH=$HERE/sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
    echo "run.sh: using the Vulkan loader from $(basename "$DEB") in $HERE/sysroot" >&2
  fi
fi

# Without arguments: the default comparison, then the profile of where the time goes.
PROFILE=
if [ $# -eq 0 ]; then
  set -- --workload W1,W2,W4,W6 --system recur-webgpu,pytorch --reps 20 --warmup 3
  PROFILE=$HERE/app/node_modules/@recur/backend-webgpu/bench/lstm.mjs
fi
{
  echo "run.sh: $(head -n 1 "$HERE/MANIFEST.txt")"
  echo "run.sh: node $("$NODE" --version), $(uname -srm)"
  if command -v nvidia-smi >/dev/null 2>&1; then
    echo "run.sh: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 1)"
  fi
} >&2

BENCH=$HERE/app/node_modules/@recur/bench/dist/cli.js
status=0
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  "$NODE" "$BENCH" "$@" --out "$OUT/gpu-bench.json" >"$OUT/gpu-bench.txt" || status=$?
  cat "$OUT/gpu-bench.txt"
else
  "$NODE" "$BENCH" "$@" || status=$?
fi
if [ -n "$PROFILE" ]; then
  # Each workload's forward pass and training step on the GPU alone, and its kernels timed apart.
  echo "run.sh: profile (packages/backend-webgpu/bench/lstm.mjs --only W1,W4,W6)" >&2
  if [ -n "${OUT:-}" ]; then
    "$NODE" "$PROFILE" --only W1,W4,W6 --swiftshader never --json "$OUT/gpu-profile.json" >"$OUT/gpu-profile.txt" || status=$?
    cat "$OUT/gpu-profile.txt"
  else
    "$NODE" "$PROFILE" --only W1,W4,W6 --swiftshader never || status=$?
  fi
fi
exit "$status"
