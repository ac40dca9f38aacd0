// Public entry points of the matrix kernels: check the arguments, prepare each input once per
// call (permuted float copy and per-group sums, or int8 rounding), then split the output rows
// of every job into tasks that the pool's threads pull until none are left. The per-row work
// runs in the SIMD translation units (linear_simd.cpp, linear_dense.cpp, linear_q8.cpp).
#include "kernels/linear.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/hwy_targets.h"  // before any hwy/ header
#include "hwy/targets.h"
#include "kernels/linear_internal.h"

namespace tf {

namespace {

// Rough bytes of weights (times tokens) worth one task: enough that a task's setup is noise
// and that its stream of weights is long enough for the prefetchers (a 2-bit 512 × 2048
// expert, ~290 KB, is one task at one token: a step's 8 experts, or a verify batch's ~24, keep
// both threads busy). 64 KB — each expert in 4 streams of ~72 KB — measured decode ~1.08×,
// three tokens 1.1–1.4× slower (bench/RESULTS.md, "Longer tasks for small matrices").
constexpr int64_t kTaskWork = 256 * 1024;

// One input as a kernel needs it. Jobs that share x and the same layout (the q/k/v projections
// of one hidden state, an expert's gate and up) share one of these.
struct PreparedInput {
  const float* x = nullptr;
  int64_t tokens = 0, cols = 0;
  int group_size = 0;
  int64_t layout = 0;  // F32: codes per block; Int8: -16 - bits (row kernels), kTiles or kTiles2; dense: 0
  std::vector<float> group_sums;
  std::vector<float> xp;  // F32: permuted copy, rows of padded_cols
  int64_t padded_cols = 0;
  std::vector<int8_t> xq;  // Int8: rounded copy, rows of padded_cols
  std::vector<int8_t> row;  // Int8 row kernels: q8_quantize_input's scratch
  std::vector<float> deltas;
  simd::Q8Input q8;
  simd::Q8TileInput tiles;
};

// Layouts of Int8 inputs for the tile kernels (linear_q8_tiles*.cpp: AVX-512 VNNI, AVX-VNNI,
// NEON sdot / i8mm), used for batches of at least q8_tiles_min_tokens(cols) tokens on CPUs that
// have one; 2-bit matrices read their activations in planes order (kTiles2), every other width
// in natural order. kPlanes8: planes order for rows interleaved in blocks of 8 (256-bit x86).
constexpr int64_t kTiles = -2, kTiles2 = -3, kPlanes8 = -4;

struct PreparedJob {
  const WeightMatrix* w = nullptr;
  float* y = nullptr;
  const PreparedInput* in = nullptr;
};

struct Task {
  size_t job;
  int64_t begin, end;
  int64_t cost;  // multiply-adds
};

// Fewest rows of a tile-kernel task (see matmul_batch).
constexpr int64_t kMinTileTaskRows = 64;

int64_t layout_of(const WeightMatrix& w, ActivationPrecision precision, int64_t tokens) {
  if (!w.quantized()) return 0;
  // Interleaved rows (2- or 3-bit): their kernel takes the planes-order tile input at any token
  // count; without it
  // (F32 precision, or a run limited to a lower SIMD target after load) x as given, for
  // run_rows' fallback.
  if (w.layout == WeightMatrix::Layout::Rows16)
    return precision == ActivationPrecision::Int8 && simd::q8_rows16_supported() ? kTiles2 : 0;
  if (w.layout == WeightMatrix::Layout::Rows8)
    return precision == ActivationPrecision::Int8 && simd::q8_rows8_supported() ? kPlanes8 : 0;
  if (precision != ActivationPrecision::Int8) return simd::block_codes(w.bits);
  // The row kernels' byte order depends on the bit width (2-, 3- and 4-bit codes unpack
  // into different orders, and the activations follow): one layout per width.
  if (tokens < simd::q8_tiles_min_tokens(w.cols) || !simd::q8_tiles_fast()) return -16 - w.bits;
  return w.bits == 2 ? kTiles2 : kTiles;
}

bool is_tiles(int64_t layout) { return layout == kTiles || layout == kTiles2 || layout == kPlanes8; }

// Tokens [t0, t1) of an input for the tile kernel (sized by prepare): every token is rounded
// on its own, so slices can be filled in parallel.
struct TileSlice {
  PreparedInput* in;
  int bits;
  int64_t t0, t1;
};
constexpr int64_t kSliceTokens = 16;

void fill_tile_slice(const TileSlice& s) {
  PreparedInput& p = *s.in;
  const int64_t groups = p.cols / p.group_size, n = s.t1 - s.t0;
  const float* x = p.x + s.t0 * p.cols;
  simd::group_sums(x, n, p.cols, p.group_size, p.group_sums.data() + s.t0 * groups);
  if (p.layout == kPlanes8)
    simd::q8_rows8_quantize(x, n, p.cols, p.group_size, p.xq.data() + s.t0 * p.padded_cols,
                            p.deltas.data() + s.t0 * groups);
  else
    simd::q8_tiles_quantize(s.bits, x, n, p.cols, p.group_size, p.xq.data() + s.t0 * p.padded_cols,
                            p.deltas.data() + s.t0 * groups);
}

// Sizes p's buffers and fills them, except for the tile layouts, whose tokens are left to
// fill_tile_slice (matmul_batch runs those slices on the pool).
void prepare(PreparedInput& p, int bits, ActivationPrecision precision) {
  if (p.layout == 0) return;  // dense rows read x as given
  const int64_t groups = p.cols / p.group_size;
  // Padded: the kernels read the sums in whole vectors (the padding meets zero biases).
  p.group_sums.resize(static_cast<size_t>(p.tokens * groups + 64));
  if (is_tiles(p.layout)) {
    p.padded_cols = simd::q8_tiles_stride(p.cols);
    p.xq.resize(static_cast<size_t>(p.tokens * p.padded_cols));
    p.deltas.resize(static_cast<size_t>(p.tokens * groups));
    p.tiles = {p.tokens, p.padded_cols, p.xq.data(), p.deltas.data(), p.group_sums.data()};
    return;
  }
  simd::group_sums(p.x, p.tokens, p.cols, p.group_size, p.group_sums.data());
  if (precision == ActivationPrecision::Int8) {
    p.padded_cols = simd::q8_padded_cols(bits, p.cols);
    p.xq.resize(static_cast<size_t>(p.tokens * p.padded_cols));
    p.deltas.resize(static_cast<size_t>(p.tokens * groups));
    p.row.resize(static_cast<size_t>(simd::q8_quantize_row_scratch(p.padded_cols)));
    simd::q8_quantize_input(bits, p.group_size, p.x, p.tokens, p.cols, p.padded_cols, p.xq.data(),
                            p.deltas.data(), p.row.data());
    p.q8 = {p.tokens, p.cols, p.padded_cols, groups, p.xq.data(), p.deltas.data(),
            p.group_sums.data()};
    return;
  }
  p.padded_cols = (p.cols + p.layout - 1) / p.layout * p.layout;
  p.xp.resize(static_cast<size_t>(p.tokens * p.padded_cols));
  simd::permute_input(bits, p.x, p.tokens, p.cols, p.padded_cols, p.xp.data());
}

// Interleaved rows without their kernel: 16 rows at a time dequantized to float (the reference's
// gather) and multiplied as a dense matrix. Slow; correct for either precision (F32's products).
void interleaved_fallback(const WeightMatrix& w, const PreparedInput& in, int64_t begin, int64_t end,
                          float* y) {
  thread_local std::vector<float> rows;
  for (int64_t r0 = begin; r0 < end; r0 += 16) {
    const int64_t n = std::min<int64_t>(16, end - r0);
    rows.resize(static_cast<size_t>(n * w.cols));
    reference::dequantize_rows(w, r0, n, rows.data());
    WeightMatrix dense;
    dense.dtype = DType::F32;
    dense.rows = n;
    dense.cols = w.cols;
    dense.data = reinterpret_cast<const uint8_t*>(rows.data());
    simd::dense_rows(dense, in.x, in.tokens, 0, n, y + r0, w.rows);
  }
}

void run_rows(const PreparedJob& p, ActivationPrecision precision, int64_t begin, int64_t end) {
  const WeightMatrix& w = *p.w;
  const PreparedInput& in = *p.in;
  if (w.quantized() && w.layout != WeightMatrix::Layout::Rows) {
    if (in.layout == kTiles2)
      simd::q8_rows16_rows(w, in.tiles, begin, end, p.y, w.rows);
    else if (in.layout == kPlanes8)
      simd::q8_rows8_rows(static_cast<simd::Q8Dot256>(simd::q8_dot256()), w, in.tiles, begin, end, p.y, w.rows);
    else
      interleaved_fallback(w, in, begin, end, p.y);
    return;
  }
  if (!w.quantized())
    simd::dense_rows(w, in.x, in.tokens, begin, end, p.y, w.rows);
  else if (is_tiles(in.layout))
    simd::q8_tiles_rows(w, in.tiles, begin, end, p.y, w.rows);
  else if (precision == ActivationPrecision::Int8)
    simd::q8_affine_rows(w, in.q8, begin, end, p.y, w.rows);
  else
    simd::affine_rows(w, in.xp.data(), in.padded_cols, in.group_sums.data(), in.tokens, begin,
                      end, p.y, w.rows);
}

}  // namespace

// Grown, never shrunk: `inputs` holds every PreparedInput an earlier call needed (their vectors
// keep their capacity), the first `inputs_used` belong to the current call.
struct MatmulScratch::Buffers {
  std::vector<PreparedJob> prepared;
  std::vector<std::unique_ptr<PreparedInput>> inputs;
  size_t inputs_used = 0;
  std::vector<TileSlice> slices;
  std::vector<Task> tasks;
};

MatmulScratch::MatmulScratch() : buffers_(std::make_unique<Buffers>()) {}
MatmulScratch::~MatmulScratch() = default;
MatmulScratch::MatmulScratch(MatmulScratch&&) noexcept = default;
MatmulScratch& MatmulScratch::operator=(MatmulScratch&&) noexcept = default;

void validate_weight_matrix(const WeightMatrix& w) {
  auto fail = [](const std::string& what) {
    throw std::invalid_argument("weight matrix: " + what);
  };
  if (w.rows < 0 || w.cols <= 0) fail("needs rows >= 0 and cols > 0");
  if (!is_float_dtype(w.dtype))
    fail("dtype " + std::string(dtype_name(w.dtype)) + " is not F32, F16 or BF16");
  if (w.rows > 0 && w.data == nullptr) fail("has no data");
  if (!w.quantized()) return;
  const int b = w.bits, g = w.group_size;
  if (b != 2 && b != 3 && b != 4 && b != 5 && b != 6 && b != 8)
    fail("bits " + std::to_string(b) + " unsupported (2, 3, 4, 5, 6, 8)");
  if (g != 32 && g != 64 && g != 128)
    fail("group size " + std::to_string(g) + " unsupported (32, 64, 128)");
  if (w.cols % g != 0)
    fail(std::to_string(w.cols) + " columns are not a multiple of the group size " +
         std::to_string(g));
  if (w.rows > 0 && (w.scales == nullptr || w.biases == nullptr)) fail("has no scales or biases");
  if (w.layout == WeightMatrix::Layout::Rows16 && !simd::q8_rows16_layout_fits(w))
    fail("interleaved rows need 2- or 3-bit codes, whole blocks of 16 rows and rows of 256-code multiples");
  if (w.layout == WeightMatrix::Layout::Rows8 && !simd::q8_rows8_layout_fits(w))
    fail("interleaved rows need 2- or 3-bit codes, whole blocks of 8 rows and rows of 32-code multiples");
}

void matmul_batch(std::span<const MatmulJob> jobs, ThreadPool& pool, ActivationPrecision precision,
                  MatmulScratch* scratch) {
  std::optional<MatmulScratch> local;  // only without the caller's: constructing one allocates
  if (scratch == nullptr) scratch = &local.emplace();
  if (scratch->in_use_) throw std::logic_error("matmul_batch: a MatmulScratch used by two calls at once");
  scratch->in_use_ = true;
  struct Release {
    MatmulScratch* s;
    ~Release() { s->in_use_ = false; }
  } release{scratch};
  MatmulScratch::Buffers& b = *scratch->buffers_;
  std::vector<PreparedJob>& prepared = b.prepared;
  std::vector<TileSlice>& slices = b.slices;
  std::vector<Task>& tasks = b.tasks;
  prepared.clear();
  slices.clear();
  tasks.clear();
  b.inputs_used = 0;
  for (const MatmulJob& j : jobs) {
    if (j.w == nullptr) throw std::invalid_argument("matmul_batch: job without a weight matrix");
    validate_weight_matrix(*j.w);
    if (j.tokens <= 0 || j.w->rows == 0) continue;
    if (j.x == nullptr || j.y == nullptr) throw std::invalid_argument("matmul: null input or output");
    const WeightMatrix& w = *j.w;
    const int64_t layout = layout_of(w, precision, j.tokens);
    const int group = w.quantized() ? w.group_size : 0;
    PreparedInput* in = nullptr;
    for (size_t i = 0; i < b.inputs_used; ++i) {
      PreparedInput* p = b.inputs[i].get();
      if (p->x == j.x && p->tokens == j.tokens && p->cols == w.cols && p->group_size == group &&
          p->layout == layout)
        in = p;
    }
    if (in == nullptr) {
      if (b.inputs_used == b.inputs.size()) b.inputs.push_back(std::make_unique<PreparedInput>());
      in = b.inputs[b.inputs_used++].get();
      in->x = j.x;
      in->tokens = j.tokens;
      in->cols = w.cols;
      in->group_size = group;
      in->layout = layout;
      in->padded_cols = 0;
      prepare(*in, w.bits, precision);
      if (is_tiles(layout))
        for (int64_t t0 = 0; t0 < j.tokens; t0 += kSliceTokens)
          // kTiles2: the planes order, which 2-bit rows and every interleaved matrix read.
          slices.push_back({in, layout == kTiles2 ? 2 : w.bits, t0, std::min(j.tokens, t0 + kSliceTokens)});
    }
    prepared.push_back({&w, j.y, in});
  }
  // Rounding the inputs of a prefill (every routed expert's tokens) is a few percent of its
  // work: on the pool, not on the calling thread alone.
  if (!slices.empty())
    pool.run(static_cast<int64_t>(slices.size()),
             [&slices](int64_t i, int) { fill_tile_slice(slices[static_cast<size_t>(i)]); });
  const int threads = pool.num_threads();
  for (size_t i = 0; i < prepared.size(); ++i) {
    const WeightMatrix& w = *prepared[i].w;
    const int64_t work =
        static_cast<int64_t>(w.total_bytes()) * std::min<int64_t>(prepared[i].in->tokens, 16);
    const int64_t most = threads == 1 ? 1 : 8 * threads;
    const int64_t count = std::clamp<int64_t>(work / kTaskWork, 1, std::min<int64_t>(most, w.rows));
    int64_t per = (w.rows + count - 1) / count;
    if (is_tiles(prepared[i].in->layout)) {
      // Whole 16-row blocks, at least kMinTileTaskRows: the tile kernel fetches the next
      // block's weights while it computes one, but a task's first block waits for memory.
      per = std::max<int64_t>(per, kMinTileTaskRows);
      per = (per + 15) / 16 * 16;
    }
    for (int64_t r = 0; r < w.rows; r += per)
      tasks.push_back({i, r, std::min(w.rows, r + per),
                       (std::min(w.rows, r + per) - r) * w.cols * prepared[i].in->tokens});
  }
  // Biggest tasks first (a prefill's shared expert over all tokens next to routed experts with
  // a few each), so the threads finish on small tasks together instead of one waiting for the
  // other's last big one. Ties keep the order they were made in (job, then rows), as a stable
  // sort would; std::sort needs no buffer.
  std::sort(tasks.begin(), tasks.end(), [](const Task& a, const Task& b) {
    if (a.cost != b.cost) return a.cost > b.cost;
    return a.job != b.job ? a.job < b.job : a.begin < b.begin;
  });
  // Through std::ref: a std::function keeps a reference_wrapper inline, while this lambda (three
  // captures) would be copied to the heap on every call.
  const auto run_task = [&tasks, &prepared, precision](int64_t t, int) {
    const Task& task = tasks[static_cast<size_t>(t)];
    run_rows(prepared[task.job], precision, task.begin, task.end);
  };
  pool.run(static_cast<int64_t>(tasks.size()), std::ref(run_task));
}

void matmul(const WeightMatrix& w, const float* x, int64_t tokens, float* y, ThreadPool& pool,
            ActivationPrecision precision, MatmulScratch* scratch) {
  const MatmulJob job{&w, x, tokens, y};
  matmul_batch(std::span<const MatmulJob>(&job, 1), pool, precision, scratch);
}

void matvec(const WeightMatrix& w, const float* x, float* y, ThreadPool& pool,
            ActivationPrecision precision) {
  matmul(w, x, 1, y, pool, precision);
}

bool int8_activations_fast() { return simd::q8_fast(); }

ActivationPrecision default_activation_precision() {
  if (const char* env = std::getenv("TIGHTFIT_ACTIVATIONS")) {
    if (std::string(env) == "f32") return ActivationPrecision::F32;
    if (std::string(env) == "int8") return ActivationPrecision::Int8;
  }
  return int8_activations_fast() ? ActivationPrecision::Int8 : ActivationPrecision::F32;
}
const char* kernel_target() { return simd::float_target(); }
const char* int8_kernel_name() { return simd::q8_kernel_name(); }

void limit_simd_target(std::string_view name) {
  std::string known;
  for (int64_t bits = hwy::SupportedTargets(); bits != 0; bits &= bits - 1) {
    const int64_t target = bits & ~(bits - 1);
    const std::string target_name = hwy::TargetName(target);
    known += (known.empty() ? "" : ", ") + target_name;
    if (target_name.size() == name.size() &&
        std::equal(name.begin(), name.end(), target_name.begin(),
                   [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; })) {
      // Highway numbers better targets with lower bits.
      hwy::DisableTargets(target - 1);
      return;
    }
  }
  throw std::invalid_argument("SIMD target '" + std::string(name) +
                              "' is not one this CPU runs (it runs: " + known + ")");
}

namespace {
// TIGHTFIT_SIMD_TARGET, read once before main(); a bad value is reported, not fatal.
const bool kSimdTargetFromEnvironment = [] {
  if (const char* env = std::getenv("TIGHTFIT_SIMD_TARGET"); env != nullptr && *env != '\0') {
    try {
      limit_simd_target(env);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tightfit: warning: TIGHTFIT_SIMD_TARGET ignored: %s\n", e.what());
    }
  }
  return true;
}();
}  // namespace

void dequantize_rows(const WeightMatrix& w, int64_t row, int64_t count, float* out) {
  validate_weight_matrix(w);
  if (row < 0 || count < 0 || row + count > w.rows)
    throw std::out_of_range("dequantize_rows: rows [" + std::to_string(row) + ", " +
                            std::to_string(row + count) + ") outside a matrix of " +
                            std::to_string(w.rows) + " rows");
  reference::dequantize_rows(w, row, count, out);
}

}  // namespace tf
