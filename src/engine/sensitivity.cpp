// tightfit::measure_sensitivity (include/tightfit/sensitivity.h): the quant layer's meter fed by
// the model's linear tap over one prefill per calibration sequence.
#include "tightfit/sensitivity.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "engine/bare_model.h"
#include "model/session.h"
#include "quant/sensitivity.h"

namespace tightfit {

SensitivityResult measure_sensitivity(const SensitivityOptions& o,
                                      const std::vector<CalibrationSequence>& sequences) {
  if (!tf::is_valid_affine_bits(o.bits))
    throw InvalidRequest("bits must be 2, 3, 4, 5, 6 or 8", "bits");
  if (!tf::is_valid_group_size(o.group_size))
    throw InvalidRequest("group_size must be 32, 64 or 128", "group_size");
  if (o.threads < 0) throw InvalidRequest("threads must be >= 0 (0 = every core)", "threads");
  if (sequences.empty()) throw InvalidRequest("no calibration sequences", "sequences");
  const auto model = load_bare_model(o.model, o.threads, o.offline);
  if (model->config().quantization && o.on_warning)
    o.on_warning(o.model + " is already quantized: its quantized modules are measured on their "
                 "quantized values, which says nothing about the original weights; measure the "
                 "bf16 original");
  for (const auto& s : sequences) {
    if (s.tokens.empty()) throw InvalidRequest(s.source + ": no tokens", "sequences");
    for (const int32_t id : s.tokens)
      if (id < 0 || id >= model->vocab_size())
        throw InvalidRequest(s.source + ": token id " + std::to_string(id) +
                                 " is outside the vocabulary (" +
                                 std::to_string(model->vocab_size()) + ")",
                             "sequences");
  }
  tf::SensitivityMeter meter(o.bits, o.group_size, model->pool());
  tf::SessionOptions options;
  // One forward batch per sequence: every module is measured once per sequence.
  for (const auto& s : sequences)
    options.prefill_batch = std::max<int64_t>(options.prefill_batch, s.tokens.size());
  options.linear_tap = [&](const std::string& module, int layer, int, const tf::WeightMatrix& w,
                           const float* x, int64_t rows) { meter.observe(module, layer, w, x, rows); };
  tf::Session session(*model, options);
  for (const auto& s : sequences) {
    if (o.on_sequence) o.on_sequence(s.source, static_cast<int64_t>(s.tokens.size()));
    session.reset();
    session.prefill(s.tokens, /*all_logits=*/true);  // the head sees every position
    meter.add_tokens(static_cast<int64_t>(s.tokens.size()));
  }
  const tf::SensitivityReport r = meter.report(model->text().num_hidden_layers, o.edge_layers);
  return {r.format_table(), r.to_json().dump(2), r.to_csv()};
}

}  // namespace tightfit
