// tightfit.plan (include/tightfit/plan.h) for Python: the memory plan as a MemoryPlan object —
// its numbers as attributes, str() the table `tightfit plan` prints, to_dict() what `tightfit
// plan --json` prints, check_tokens() raising OutOfMemoryError with the plan's numbers.
#include <pybind11/stl.h>

#include <cstdio>
#include <string>

#include "bindings.h"
#include "tightfit/plan.h"

namespace tightfit::python {

namespace {

// "2.85 MB", "11.17 GB": decimal units, as `tightfit plan` prints them.
std::string size_text(uint64_t bytes) {
  char text[32];
  const double b = static_cast<double>(bytes);
  if (b >= 1e9) std::snprintf(text, sizeof text, "%.2f GB", b / 1e9);
  else std::snprintf(text, sizeof text, "%.2f MB", b / 1e6);
  return text;
}

MemoryPlan plan(const std::string& model, const std::string& recipe, py::object memory,
                py::object reserve, int kv_bits, int kv_group_size, std::optional<int64_t> context,
                int parallel, bool vision, int prefill_chunk, py::object prompt_cache,
                std::optional<int> threads, bool count_this_process, int draft_tokens) {
  PlanOptions o;
  o.model = model;
  o.recipe = recipe;
  if (!memory.is_none()) o.memory = byte_size(memory, "memory");
  if (!reserve.is_none()) o.reserve = static_cast<int64_t>(byte_size(reserve, "reserve"));
  o.kv_bits = kv_bits;
  o.kv_group_size = kv_group_size;
  o.context = context.value_or(0);
  o.parallel = parallel;
  o.vision = vision;
  o.prefill_chunk = prefill_chunk;
  o.prompt_cache_bytes = byte_size(prompt_cache, "prompt_cache");
  o.threads = threads.value_or(0);
  o.count_this_process = count_this_process;
  o.draft_tokens = draft_tokens;
  py::gil_scoped_release release;  // reads the checkpoint's headers
  return plan_memory(o);
}

}  // namespace

uint64_t byte_size(const py::handle& value, const std::string& what) {
  if (py::isinstance<py::str>(value)) return parse_byte_size(value.cast<std::string>(), what);
  if (py::isinstance<py::int_>(value) && !py::isinstance<py::bool_>(value)) {
    const auto bytes = value.cast<int64_t>();
    if (bytes < 0) throw InvalidRequest(what + " must be at least 0, got " + std::to_string(bytes), what);
    return static_cast<uint64_t>(bytes);
  }
  throw py::type_error(what + " must be a number of bytes or a size such as \"16GB\"");
}

void bind_plan(py::module_& m) {
  py::class_<PlanItem>(m, "PlanItem", "One line of a memory plan.")
      .def_readonly("name", &PlanItem::name)
      .def_readonly("bytes", &PlanItem::bytes)
      .def_readonly("file_backed", &PlanItem::file_backed,
                    "mmapped weights (page cache), not anonymous memory")
      .def("__repr__", [](const PlanItem& i) {
        return "<tightfit.PlanItem " + i.name + ": " + size_text(i.bytes) +
               (i.file_backed ? " mmapped>" : ">");
      });
  py::class_<PlanKVWidth>(m, "PlanKVWidth", "The plan at one KV cache width.")
      .def_readonly("bits", &PlanKVWidth::bits)
      .def_readonly("bytes_per_token", &PlanKVWidth::bytes_per_token)
      .def_readonly("total_at", &PlanKVWidth::total_at,
                    "plan total at each of MemoryPlan.context_columns")
      .def_readonly("max_context", &PlanKVWidth::max_context,
                    "largest context per sequence that fits the limit")
      .def("__repr__", [](const PlanKVWidth& w) {
        return "<tightfit.PlanKVWidth " + std::to_string(w.bits) + "-bit: " +
               std::to_string(w.bytes_per_token) + " bytes/token, max context " +
               std::to_string(w.max_context) + ">";
      });
  py::class_<MemoryPlan>(m, "MemoryPlan",
                         "What a model takes in memory against a memory limit (tightfit.plan). "
                         "str(plan) is the table `tightfit plan` prints; to_dict() its JSON.")
      .def_readonly("model", &MemoryPlan::model)
      .def_readonly("weights_from", &MemoryPlan::weights_from,
                    "\"checkpoint\" or \"config + recipe NAME\"")
      .def_readonly("items", &MemoryPlan::items, "the plan's lines (PlanItem)")
      .def_readonly("total", &MemoryPlan::total, "bytes: the sum of the items")
      .def_readonly("memory", &MemoryPlan::memory)
      .def_readonly("reserve", &MemoryPlan::reserve)
      .def_readonly("limit", &MemoryPlan::limit, "bytes: memory - reserve")
      .def_readonly("text_weight_bytes", &MemoryPlan::text_weight_bytes)
      .def_readonly("vision_weight_bytes", &MemoryPlan::vision_weight_bytes)
      .def_readonly("fixed_bytes", &MemoryPlan::fixed_bytes, "everything but the KV cache")
      .def_readonly("kv_bytes_per_token", &MemoryPlan::kv_bytes_per_token)
      .def_readonly("deltanet_bytes_per_sequence", &MemoryPlan::deltanet_bytes_per_sequence)
      .def_readonly("draft_tokens", &MemoryPlan::draft_tokens,
                    "speculative decoding's drafts per step counted (0: none, or no MTP head)")
      .def_readonly("mtp_kv_bytes_per_token", &MemoryPlan::mtp_kv_bytes_per_token,
                    "the MTP head's KV per token (part of kv_bytes_per_token)")
      .def_readonly("speculative_bytes_per_sequence", &MemoryPlan::speculative_bytes_per_sequence,
                    "a drafting sequence's verify and draft buffers (part of fixed_bytes)")
      .def_readonly("kv_bits", &MemoryPlan::kv_bits)
      .def_readonly("context", &MemoryPlan::context)
      .def_readonly("parallel", &MemoryPlan::parallel)
      .def_readonly("model_context", &MemoryPlan::model_context)
      .def_readonly("context_columns", &MemoryPlan::context_columns)
      .def_readonly("kv_widths", &MemoryPlan::kv_widths, "the plan per KV width (PlanKVWidth)")
      .def_property_readonly("fits", &MemoryPlan::fits, "total <= limit")
      .def_property_readonly("headroom", &MemoryPlan::headroom, "bytes: limit - total (negative: short)")
      .def("max_tokens", &MemoryPlan::max_tokens,
           "The most tokens held over all sequences that fit the limit at kv_bits.")
      .def("check_tokens", &MemoryPlan::check_tokens, py::arg("tokens"),
           "Raise OutOfMemoryError, with the plan's numbers, unless `tokens` cached tokens (over "
           "all sequences) fit the limit.")
      .def("to_text", &MemoryPlan::to_text, "The table `tightfit plan` prints.")
      .def("to_dict",
           [](const MemoryPlan& p) { return py::module_::import("json").attr("loads")(p.to_json()); },
           "The plan as `tightfit plan --json` prints it.")
      .def("__str__", &MemoryPlan::to_text)
      .def("__repr__", [](const MemoryPlan& p) {
        return "<tightfit.MemoryPlan " + p.model + ": " + size_text(p.total) + " of a " +
               size_text(p.limit) + " limit at " + std::to_string(p.context) + " tokens x " +
               std::to_string(p.parallel) + ", " + std::to_string(p.kv_bits) + "-bit KV" +
               (p.fits() ? ", fits>" : ", DOES NOT FIT>");
      });

  m.def("plan", &plan, py::arg("model"), py::kw_only(), py::arg("recipe") = "dynamic",
        py::arg("memory") = py::none(), py::arg("reserve") = py::none(), py::arg("kv_bits") = 16,
        py::arg("kv_group_size") = 64, py::arg("context") = py::none(), py::arg("parallel") = 1,
        py::arg("vision") = true, py::arg("prefill_chunk") = 256, py::arg("prompt_cache") = 0,
        py::arg("threads") = py::none(), py::arg("count_this_process") = true,
        py::arg("draft_tokens") = 0,
        "The memory plan of a model (what `tightfit plan` prints) as a MemoryPlan: weights by "
        "role, the vision tower, runtime buffers, the KV cache at `context` tokens x `parallel` "
        "sequences, the DeltaNet state and the prompt cache, against a limit of `memory` less "
        "`reserve` (None: this machine's memory, and 3.5 GB or a quarter of it), plus the largest "
        "context per KV width. `model` is a model folder (sizes from its safetensors headers, no "
        "weights read) or a config.json / a folder with only config.json (sizes planned through "
        "`recipe`, before converting). Sizes are bytes or strings such as \"16GB\" / \"512MiB\". "
        "count_this_process=False leaves out this process's own memory; draft_tokens=N counts "
        "speculative decoding's MTP head KV and buffers (models with an MTP head). Raises "
        "ModelNotFoundError or InvalidRequestError.");
}

}  // namespace tightfit::python
