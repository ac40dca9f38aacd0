// tightfit::compute_logits (include/tightfit/logits.h): a Session over the model alone.
#include "tightfit/logits.h"

#include <chrono>
#include <stdexcept>

#include "engine/bare_model.h"
#include "kernels/ops_attention.h"
#include "model/session.h"
#include "storage/tensor_names.h"

namespace tightfit {

Logits compute_logits(const LogitsOptions& o, std::span<const int32_t> tokens) {
  if (tokens.empty()) throw InvalidRequest("tokens is empty: give at least one token id", "tokens");
  if (o.prefill_chunk < 1) throw InvalidRequest("prefill_chunk must be >= 1", "prefill_chunk");
  if (o.threads < 0) throw InvalidRequest("threads must be >= 0 (0 = every core)", "threads");
  tf::SessionOptions session_options;
  session_options.prefill_batch = o.prefill_chunk;
  session_options.kv_group_size = o.kv_group_size;
  try {
    session_options.kv_type = tf::parse_kv_type(o.kv_type);
  } catch (const std::invalid_argument& e) {
    throw InvalidRequest(std::string("kv_type: ") + e.what(), "kv_type");
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto model = load_bare_model(o.model, o.threads, o.offline);
  Logits out;
  out.vocab = model->vocab_size();
  out.rows = static_cast<int64_t>(tokens.size());
  for (const int32_t id : tokens)
    if (id < 0 || id >= out.vocab)
      throw InvalidRequest("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                               std::to_string(out.vocab - 1) + ")",
                           "tokens");
  const auto t1 = std::chrono::steady_clock::now();
  tf::Session session(*model, session_options);
  out.values.reserve(out.rows * out.vocab);
  if (!o.decode_steps) {
    const auto l = session.prefill(tokens, /*all_logits=*/true);
    out.values.assign(l.begin(), l.end());
  } else {
    for (const int32_t id : tokens) {
      const auto l = session.decode(id);
      out.values.insert(out.values.end(), l.begin(), l.end());
    }
  }
  const auto t2 = std::chrono::steady_clock::now();
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  out.layout = tf::flavour_name(model->flavour());
  out.layers = model->text().num_hidden_layers;
  out.threads = model->pool().num_threads();
  out.load_ms = ms(t0, t1);
  out.forward_ms = ms(t1, t2);
  return out;
}

}  // namespace tightfit
