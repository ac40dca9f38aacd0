#!/usr/bin/env bash
# Fails when a function compiled for Highway's AVX-512 targets (namespaces N_AVX3, N_AVX3_DL)
# contains a VEX-encoded VNNI instruction ({vex} vpdpbusd and kin: AVX-VNNI, an ISA of its
# own). Highway 1.0.3's AVX3_DL target string enables "avxvnni", so GCC may encode a 256-bit
# VNNI intrinsic with VEX; that code then dies with SIGILL on AVX-512 VNNI CPUs without AVX-VNNI
# (Ice Lake, AMD Zen 4) while passing on CPUs with both (Zen 5, Sapphire Rapids) — which is how
# it once shipped (src/kernels/ops_attention_vnni-inl.h, DpbusdEvex). Kernels meant for
# AVX-VNNI live in their own namespaces (q8_avx_vnni, the AVX2 tile kernel) and are dispatched
# on the CPU's AVX-VNNI bit.
# Usage: scripts/check-vex-vnni.sh BINARY...
set -euo pipefail
status=0
for binary in "$@"; do
  found=$(objdump -d --no-show-raw-insn -C "$binary" |
    awk '/^[0-9a-f]+ <.*>:$/ { fn = $0 } /\{vex\} vpdp/ && fn ~ /N_AVX3/ { print fn }' | sort -u)
  if [ -n "$found" ]; then
    echo "$binary: VEX-encoded VNNI in AVX-512 target code (SIGILL on CPUs without AVX-VNNI):"
    echo "$found"
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "no VEX-encoded VNNI in AVX-512 target code of: $*"
exit "$status"
