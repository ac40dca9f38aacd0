#include "model/tensor_binder.h"

#include <stdexcept>

namespace tf {

namespace {

int64_t product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::vector<int64_t> concat(std::vector<int64_t> a, std::initializer_list<int64_t> b) {
  a.insert(a.end(), b);
  return a;
}

[[noreturn]] void fail(const Checkpoint& ck, const std::string& name, const std::string& what) {
  throw std::runtime_error("checkpoint " + ck.dir() + ": tensor " + name + ": " + what);
}

}  // namespace

TensorBinder::TensorBinder(const Checkpoint& checkpoint, const QuantizationConfig* quantization)
    : checkpoint_(checkpoint), quantization_(quantization) {}

const TensorView& TensorBinder::get(const std::string& name) {
  const TensorView* t = checkpoint_.find(name);
  if (!t) fail(checkpoint_, name, "missing (the checkpoint is incomplete or not a Qwen3.5 model)");
  used_.insert(name);
  return *t;
}

WeightMatrix TensorBinder::dense_matrix(const std::string& name,
                                        const std::vector<int64_t>& leading, int64_t rows,
                                        int64_t cols) {
  const TensorView& t = get(name);
  const auto want = concat(leading, {rows, cols});
  if (t.shape != want)
    fail(checkpoint_, name, "shape " + shape_to_string(t.shape) + ", expected " +
                                shape_to_string(want));
  if (!is_float_dtype(t.dtype))
    fail(checkpoint_, name, "dtype " + std::string(dtype_name(t.dtype)) +
                                " is not a float type (F32, F16, BF16) and the module has no "
                                ".scales to make it quantized");
  WeightMatrix w;
  w.format = WeightMatrix::Format::Dense;
  w.dtype = t.dtype;
  w.rows = product(leading) * rows;
  w.cols = cols;
  w.data = t.data;
  return w;
}

WeightMatrix TensorBinder::linear(const std::string& module, const std::vector<int64_t>& leading,
                                  int64_t rows, int64_t cols) {
  if (checkpoint_.has(module + ".bias"))
    fail(checkpoint_, module + ".bias", "unexpected bias (Qwen3.5 linears have none)");
  return linear_impl(module, leading, rows, cols);
}

BiasedLinear TensorBinder::biased_linear(const std::string& module, int64_t rows,
                                                       int64_t cols) {
  BiasedLinear l;
  l.weight = linear_impl(module, {}, rows, cols);
  l.bias = vector(module + ".bias", std::vector<int64_t>{rows});
  return l;
}

WeightMatrix TensorBinder::linear_impl(const std::string& module,
                                       const std::vector<int64_t>& leading, int64_t rows,
                                       int64_t cols) {
  const std::string wname = module + ".weight";
  const std::string sname = module + ".scales";
  const std::string bname = module + ".biases";
  if (!checkpoint_.has(sname)) {
    if (checkpoint_.has(bname))
      fail(checkpoint_, bname, "has .biases but no .scales; the quantized module is incomplete");
    return dense_matrix(wname, leading, rows, cols);
  }

  // MLX affine (spec §2.7, §5.4): weight U32 [..., N, K·b/32], scales/biases [..., N, K/g].
  const TensorView& w = get(wname);
  const TensorView& s = get(sname);
  const TensorView& b = get(bname);
  if (w.dtype != DType::U32)
    fail(checkpoint_, wname, "quantized weight must be U32, found " +
                                 std::string(dtype_name(w.dtype)));
  const auto lead_rows = concat(leading, {rows});
  auto prefix_ok = [&](const TensorView& t) {
    return t.rank() == static_cast<int>(lead_rows.size()) + 1 &&
           std::equal(lead_rows.begin(), lead_rows.end(), t.shape.begin());
  };
  const std::string expect =
      "a quantized " + shape_to_string(concat(leading, {rows, cols})) + " matrix";
  if (!prefix_ok(w) || (32 * w.shape.back()) % cols != 0)
    fail(checkpoint_, wname, "shape " + shape_to_string(w.shape) + " does not fit " + expect);
  const int bits = static_cast<int>(32 * w.shape.back() / cols);
  if (!is_valid_affine_bits(bits))
    fail(checkpoint_, wname, "shape " + shape_to_string(w.shape) + " implies " +
                                 std::to_string(bits) + "-bit codes for " + expect +
                                 "; supported: 2, 3, 4, 5, 6, 8");
  if (!prefix_ok(s) || s.shape.back() <= 0 || cols % s.shape.back() != 0)
    fail(checkpoint_, sname, "shape " + shape_to_string(s.shape) + " does not fit " + expect);
  const int group = static_cast<int>(cols / s.shape.back());
  if (!is_valid_group_size(group))
    fail(checkpoint_, sname, "implies group size " + std::to_string(group) +
                                 "; supported: 32, 64, 128");
  if (b.shape != s.shape || b.dtype != s.dtype)
    fail(checkpoint_, bname, "must have the shape and dtype of " + sname + " (" +
                                 shape_to_string(s.shape) + " " +
                                 std::string(dtype_name(s.dtype)) + ")");
  if (!is_float_dtype(s.dtype))
    fail(checkpoint_, sname, "dtype " + std::string(dtype_name(s.dtype)) +
                                 " is not F16/BF16/F32 (non-affine MLX modes are not supported)");

  if (quantization_) {
    // An explicit per-module entry (in any spelling mlx-vlm accepts), else the defaults.
    const std::optional<QuantSpec>* entry = quantization_->find_override(module);
    const bool explicit_entry = entry != nullptr;
    const std::optional<QuantSpec> spec = explicit_entry ? *entry : quantization_->defaults;
    if (!spec)
      fail(checkpoint_, sname, "config.json marks module " + module +
                                   " as not quantized (false) but the checkpoint has scales");
    if (spec->mode != "affine")
      fail(checkpoint_, wname, "quantization mode '" + spec->mode +
                                   "' is not supported (only MLX affine)");
    if (spec->bits != bits || spec->group_size != group)
      fail(checkpoint_, wname,
           "tensors hold " + std::to_string(bits) + "-bit codes with group " +
               std::to_string(group) + " but config.json " +
               (explicit_entry ? "says, for this module, " : "defaults to ") +
               std::to_string(spec->bits) + " bits, group " + std::to_string(spec->group_size));
  }

  WeightMatrix m;
  m.format = WeightMatrix::Format::Affine;
  m.dtype = s.dtype;
  m.bits = bits;
  m.group_size = group;
  m.rows = product(leading) * rows;
  m.cols = cols;
  m.data = w.data;
  m.scales = s.data;
  m.biases = b.data;
  return m;
}

std::vector<float> TensorBinder::vector(const std::string& name,
                                        const std::vector<int64_t>& shape) {
  return vector(name, std::vector<std::vector<int64_t>>{shape});
}

std::vector<float> TensorBinder::vector(const std::string& name,
                                        const std::vector<std::vector<int64_t>>& shapes) {
  const TensorView& t = get(name);
  bool ok = false;
  std::string expected;
  for (const auto& s : shapes) {
    ok = ok || t.shape == s;
    expected += (expected.empty() ? "" : " or ") + shape_to_string(s);
  }
  if (!ok) fail(checkpoint_, name, "shape " + shape_to_string(t.shape) + ", expected " + expected);
  if (!is_float_dtype(t.dtype))
    fail(checkpoint_, name, "dtype " + std::string(dtype_name(t.dtype)) +
                                " is not a float type (F32, F16, BF16)");
  std::vector<float> out(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = load_float(t.data, t.dtype, i);
  return out;
}

std::vector<std::string> TensorBinder::unused_with_prefix(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& n : checkpoint_.names())
    if (n.rfind(prefix, 0) == 0 && !used_.count(n)) out.push_back(n);
  return out;
}

}  // namespace tf
