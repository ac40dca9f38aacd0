// The gated delta rule (Gated DeltaNet recurrence, spec §3.4 steps 7–8) for one value head, by
// the per-token recurrence for any number of tokens. The chunked (parallel) form of the
// reference implementations' prefill (docs/model.md §3.4) is not used: on the CPUs measured the
// recurrence with one sweep of the state per token is as fast or faster from 2 to 64 tokens
// (bench/RESULTS.md, "Delta rule runs"), and a prompt then goes through the same arithmetic as
// decode.
//
// State S is Dk × Dv, row-major (S[k][v], the Hugging Face layout), float32. One step is
//   S ← α S;  e = Sᵀk;  S ← S + k (β (v − e))ᵀ;  o = Sᵀq,
// with α = exp(g), g ≤ 0 the log-decay and β ∈ (0, 1) the write strength.
#pragma once

#include <cstdint>

namespace tf {

// Largest value-head dimension the step supports (its Δ vector lives on the stack).
inline constexpr int kMaxValueDim = 1024;

// One token. q, k have dk entries (already normalised / scaled), v and out dv entries; out
// must not overlap the inputs. SIMD (ops_delta_rule_simd.cpp) when dk and dv are multiples of
// the vector length, else the reference; the two agree to float rounding.
void gated_delta_rule_step(float* state, const float* q, const float* k, const float* v,
                           float g, float beta, int dk, int dv, float* out);
// The same step reading the state before the token from `from` and writing the state after it
// to `state` (the same pointer: in place; else the two must not overlap).
void gated_delta_rule_step(const float* from, float* state, const float* q, const float* k,
                           const float* v, float g, float beta, int dk, int dv, float* out);

// `count` consecutive tokens by the per-token recurrence: bit for bit `count` calls of
// gated_delta_rule_step, but each token's sweep over the state also sums the next token's
// prediction Sᵀk, so the state is swept once per token instead of twice (and stays in L2 from
// one token to the next). Token t reads q + t·in_stride (same for k, v), g[t], beta[t] and
// writes out + t·out_stride. In place:
void gated_delta_rule_steps(float* state, const float* q, const float* k, const float* v,
                            int64_t in_stride, const float* g, const float* beta, int count,
                            int dk, int dv, float* out, int64_t out_stride);
// The same run out of place: token t reads the state after token t − 1 (`from` for t = 0, left
// untouched) and only the state after the last token is written, to `last` (not overlapping
// `from`). A speculative verify batch keeps the state before it this way and re-runs the
// accepted prefix on a rejection (model/gated_deltanet.h); bit for bit the in-place run. With
// `last` aligned to a cache line the states between tokens stay in cache and `last` is written
// by non-temporal stores (ops_delta_rule_simd.cpp).
void gated_delta_rule_steps(const float* from, float* last, const float* q, const float* k,
                            const float* v, int64_t in_stride, const float* g, const float* beta,
                            int count, int dk, int dv, float* out, int64_t out_stride);

// The plain scalar step the SIMD one is tested against (same arguments).
namespace reference {
void gated_delta_rule_step(const float* from, float* state, const float* q, const float* k,
                           const float* v, float g, float beta, int dk, int dv, float* out);
}  // namespace reference

}  // namespace tf
