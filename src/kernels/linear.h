// Matrix products against a WeightMatrix — the hot path of the whole engine.
// Activations are float32. The public functions dispatch at run time to the best SIMD target
// (Highway); `reference::` holds the plain scalar versions every optimised kernel is tested
// against.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "kernels/thread_pool.h"
#include "kernels/weight_matrix.h"

namespace tf {

// How activations meet quantized weights (dense weights always use F32).
enum class ActivationPrecision : uint8_t {
  // Float products, y_n = Σ_g s·Σ q·x + β·Σ x. Agrees with reference::matmul to float rounding:
  // |y − y_ref| ≤ 2e-5 · Σ_k (|s q_k| + |β|)·|x_k| (tested).
  F32,
  // x rounded per weight group to int8 (x ≈ d_g·x_q, d_g = max|x_g|/127), exact integer
  // dot products Σ q·x_q (AVX-512 VNNI where present), then y_n = Σ_g s·d_g·Σ q·x_q + β·Σ x
  // with exact float group sums. Faster; differs from F32 by at most Σ_g |s|·(d_g/2)·Σ_k q_k
  // plus float rounding. reference::matmul_q8 defines it exactly.
  Int8,
};

class MatmulScratch;  // below

// y[N] = W x[K]   (decode: one token)
void matvec(const WeightMatrix& w, const float* x, float* y, ThreadPool& pool,
            ActivationPrecision precision = ActivationPrecision::F32);

// Y[T, N] = X[T, K] · Wᵀ   (prefill: a batch of T tokens, rows of X contiguous).
// Reads W once per call whatever T is.
void matmul(const WeightMatrix& w, const float* x, int64_t tokens, float* y, ThreadPool& pool,
            ActivationPrecision precision = ActivationPrecision::F32,
            MatmulScratch* scratch = nullptr);

// Several independent products in one pool dispatch: Y_j[T_j, N_j] = X_j · W_jᵀ. For the
// projections that share one input (q/k/v, in_proj_qkv/z/a/b) or the experts of a token, this
// saves a wake-up of the pool per matrix. Outputs must not overlap.
struct MatmulJob {
  const WeightMatrix* w = nullptr;
  const float* x = nullptr;
  int64_t tokens = 1;
  float* y = nullptr;
};
// The buffers matmul_batch needs (prepared inputs, their rounded or permuted copies, the task
// list), kept from call to call by a caller that runs products one call at a time — a forward
// pass — so that once they have grown to the model's sizes a decode step allocates nothing.
// Never used by two calls at once (std::logic_error if it is).
class MatmulScratch {
 public:
  MatmulScratch();
  ~MatmulScratch();
  MatmulScratch(MatmulScratch&&) noexcept;
  MatmulScratch& operator=(MatmulScratch&&) noexcept;
  struct Buffers;  // kernels/linear.cpp

 private:
  friend void matmul_batch(std::span<const MatmulJob>, ThreadPool&, ActivationPrecision,
                           MatmulScratch*);
  std::unique_ptr<Buffers> buffers_;
  bool in_use_ = false;
};

// `scratch`: buffers to reuse (nullptr: this call allocates its own).
void matmul_batch(std::span<const MatmulJob> jobs, ThreadPool& pool,
                  ActivationPrecision precision = ActivationPrecision::F32,
                  MatmulScratch* scratch = nullptr);

// out[count, K] = rows [row, row + count) of W as float (embedding lookup, tests, tied heads).
void dequantize_rows(const WeightMatrix& w, int64_t row, int64_t count, float* out);

// Whether ActivationPrecision::Int8 runs SIMD byte dot-product kernels on this CPU's target
// (AVX-512 VNNI, AVX-VNNI or AVX2 on x86). Elsewhere it runs a portable version that is slower
// than F32 (same results): prefer F32 there.
bool int8_activations_fast();
// The precision sessions use unless told otherwise: Int8 where int8_activations_fast() (decode
// and prefill faster, measured per target in bench/RESULTS.md; the activation rounding adds a
// KL divergence that is small next to what 2–4-bit weights cost — README "Performance"), else
// F32. The environment variable
// TIGHTFIT_ACTIVATIONS=f32 (or int8) overrides it for every command.
ActivationPrecision default_activation_precision();
// The Highway target the float kernels run on ("AVX3", "AVX2", "NEON", ...), for reports.
const char* kernel_target();
// The Int8 kernel the running target uses, for reports: "AVX-512 VNNI", "AVX2 vpmaddubsw",
// "AVX-VNNI", "AVX-512 VNNI ymm", "NEON sdot", "NEON smull" or "portable".
const char* int8_kernel_name();
// Runs every kernel from now on as a CPU whose best target is `name` ("AVX3_DL", "AVX3",
// "AVX2", "SSE4", ...; case-insensitive) would: measures and tests what an older CPU runs on a
// newer one. Throws std::invalid_argument for a name this CPU cannot run. The environment
// variable TIGHTFIT_SIMD_TARGET applies it at start-up for every command.
void limit_simd_target(std::string_view name);

// Throws std::invalid_argument naming the problem unless `w` is a usable matrix (supported
// dtype / bits / group size, cols a multiple of the group, non-null pointers).
void validate_weight_matrix(const WeightMatrix& w);

namespace reference {
void matvec(const WeightMatrix& w, const float* x, float* y);
void matmul(const WeightMatrix& w, const float* x, int64_t tokens, float* y);
void dequantize_rows(const WeightMatrix& w, int64_t row, int64_t count, float* out);
// The exact definition of ActivationPrecision::Int8 (quantized weights only): the activation
// rounding of quantize_activations_q8, integer dots, the float epilogue evaluated in double.
void matmul_q8(const WeightMatrix& w, const float* x, int64_t tokens, float* y);
// Rounds one token's x [cols] per group of `group_size` to int8 (the SIMD paths match it bit for
// bit): q[k] = round_half_even(x[k] · (127 / m_g)) with m_g = max_{k∈g} |x[k]|, d[g] = m_g / 127
// (d = 0 and q = 0 for an all-zero group).
void quantize_activations_q8(const float* x, int64_t cols, int group_size, int8_t* q, float* d);
}  // namespace reference

}  // namespace tf
