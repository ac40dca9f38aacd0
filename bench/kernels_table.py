#!/usr/bin/env python3
"""Turns kernels_bench JSON into the README's markdown table.

  ./build/bench/kernels_bench --benchmark_filter='MemoryRead|Matvec' \
      --benchmark_repetitions=3 --benchmark_format=json > kernels.json
  python3 bench/kernels_table.py kernels.json

Takes the fastest call of every matvec (best_GB/s; the machine is shared, the fastest call is
the least disturbed one) and the best pass of the read-bandwidth benchmark, and divides each
matvec's weights-streamed GB/s by the read bandwidth measured with the same thread count.
"""
import json
import sys
from collections import defaultdict

NAMES = {(512, 2048): "expert gate/up 512×2048", (2048, 512): "expert down 2048×512",
         (8192, 2048): "DeltaNet in_proj_qkv 8192×2048", (248320, 2048): "output head 248320×2048"}


def main(path):
    runs = json.load(open(path))["benchmarks"]
    best = defaultdict(float)
    for r in runs:
        if r.get("run_type") == "aggregate":
            continue
        name = r["run_name"] if "run_name" in r else r["name"]
        best[name] = max(best[name], r.get("best_GB/s", r.get("GB/s", 0.0)))
    bandwidth = {}
    for name, gbs in best.items():
        if name.startswith("BM_MemoryRead"):
            bandwidth[int(name.split("threads:")[1].split("/")[0])] = gbs
    rows = defaultdict(dict)
    for name, gbs in best.items():
        if not name.startswith("BM_Matvec/"):
            continue
        args = dict(p.split(":") for p in name.split("/")[1:] if ":" in p)
        key = (int(args["rows"]), int(args["cols"]), int(args["bits"]), int(args["threads"]))
        rows[key]["int8" if args["int8"] == "1" else "f32"] = gbs
    print("| matrix (rows × cols) | bits | threads | F32 GB/s | F32 / read BW | Int8 GB/s | Int8 / read BW |")
    print("|---|---|---|---|---|---|---|")
    order = list(NAMES)
    def rank(key):
        shape = key[:2]
        return (order.index(shape) if shape in order else len(order), key)
    for (n, k, bits, threads), v in sorted(rows.items(), key=lambda kv: rank(kv[0])):
        bw = bandwidth.get(threads, float("nan"))
        f32, i8 = v.get("f32", float("nan")), v.get("int8", float("nan"))
        print(f"| {NAMES.get((n, k), f'{n}×{k}')} | {bits} | {threads} | {f32:.1f} | {100 * f32 / bw:.0f} % "
              f"| {i8:.1f} | {100 * i8 / bw:.0f} % |")
    for t in sorted(bandwidth):
        print(f"| memory read bandwidth (streaming, 2 GiB) | – | {t} | {bandwidth[t]:.1f} | 100 % | | |")
    hot = defaultdict(dict)
    for name, gbs in best.items():
        if name.startswith("BM_MatvecHot"):
            args = dict(p.split(":") for p in name.split("/")[1:] if ":" in p)
            hot[(int(args["rows"]), int(args["cols"]), int(args["bits"]))]["int8" if args["int8"] == "1" else "f32"] = gbs
    if hot:
        print()
        print("| from L2 (one copy, 1 thread) | bits | F32 GB/s | Int8 GB/s |")
        print("|---|---|---|---|")
        for (n, k, bits), v in sorted(hot.items()):
            print(f"| {NAMES.get((n, k), f'{n}×{k}')} | {bits} | {v.get('f32', float('nan')):.1f} | {v.get('int8', float('nan')):.1f} |")


if __name__ == "__main__":
    main(sys.argv[1])
