// The gated delta rule (Gated DeltaNet recurrence, spec §3.4 steps 7–8) for one value head:
// a per-token step for decode and the exact chunked (parallel) form for prefill.
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
// to `state` (the same pointer: in place; else the two must not overlap). A caller that keeps
// the state before every token (speculative decoding's verify) writes each into its own buffer
// instead of copying it first.
void gated_delta_rule_step(const float* from, float* state, const float* q, const float* k,
                           const float* v, float g, float beta, int dk, int dv, float* out);

// Floats of workspace gated_delta_rule_chunk needs for a chunk of up to `chunk` tokens.
int64_t gated_delta_rule_chunk_workspace(int chunk, int dk, int dv);

// `count` consecutive tokens at once; equal to `count` calls of gated_delta_rule_step in exact
// arithmetic (spec §3.4 step 8). Token t reads q at q + t·in_stride (same for k, v), g[t],
// beta[t], and writes out + t·out_stride. Only exponentials of non-positive log-decay
// differences are taken, so nothing overflows. `work` holds
// gated_delta_rule_chunk_workspace(count, dk, dv) floats.
void gated_delta_rule_chunk(float* state, const float* q, const float* k, const float* v,
                            int64_t in_stride, const float* g, const float* beta, int count,
                            int dk, int dv, float* out, int64_t out_stride, float* work);

// The plain scalar versions the SIMD ones are tested against (same arguments).
namespace reference {
void gated_delta_rule_step(const float* from, float* state, const float* q, const float* k,
                           const float* v, float g, float beta, int dk, int dv, float* out);
void gated_delta_rule_chunk(float* state, const float* q, const float* k, const float* v,
                            int64_t in_stride, const float* g, const float* beta, int count,
                            int dk, int dv, float* out, int64_t out_stride, float* work);
}  // namespace reference

}  // namespace tf
