// Cost of constrained sampling's per-token mask (runtime/token_mask.h) on the real Qwen3.5
// vocabulary (248077 tokens), at the kinds of positions a JSON answer goes through: the start,
// after '{' (a key or '}'), inside a free string (the printable-token shortcut), inside a key
// of a schema with additionalProperties false (every token walked), after ':' and inside a
// number; plus building the byte-ordered vocabulary once per engine.
// Uses tests/data's Qwen3.5 tokenizer, or the tokenizer.json named by $TIGHTFIT_TOKENIZER.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/token_mask.h"

namespace {

using tf::tokenizer::Tokenizer;

const std::filesystem::path kData = std::filesystem::path(__FILE__).parent_path().parent_path() / "tests" / "data";

const Tokenizer& tokenizer() {
  static const auto t = std::make_unique<Tokenizer>(Tokenizer::from_file(
      std::getenv("TIGHTFIT_TOKENIZER") ? std::getenv("TIGHTFIT_TOKENIZER")
                                        : (kData / "tokenizer" / "qwen3.5-tokenizer.reconstructed.json").string()));
  return *t;
}

const tf::TokenMask& mask() {
  static const auto m = std::make_unique<tf::TokenMask>(tokenizer(), static_cast<int32_t>(tokenizer().id_space()));
  return *m;
}

void run(benchmark::State& state, const tf::JsonSchemaGraph& graph, const std::string& prefix) {
  (void)mask();  // built once, outside the timing
  tf::JsonConstraint c(std::make_shared<const tf::JsonSchemaGraph>(graph));
  if (!c.advance(prefix)) state.SkipWithError("the prefix is refused");
  std::vector<uint8_t> allowed;
  for (auto _ : state) {
    mask().allowed(c, false, allowed);
    benchmark::DoNotOptimize(allowed.data());
  }
  int64_t count = 0;
  for (uint8_t a : allowed) count += a;
  state.counters["allowed"] = static_cast<double>(count);
}

const tf::JsonSchemaGraph& strict_schema() {
  static const tf::JsonSchemaGraph g = tf::compile_json_schema(nlohmann::json::parse(
      R"({"type": "object", "properties": {"name": {"type": "string"}, "nickname": {"type": "string"},
          "age": {"type": "integer"}}, "additionalProperties": false})"));
  return g;
}

void BM_Start(benchmark::State& s) { run(s, tf::json_object_graph(), ""); }
void BM_AfterBrace(benchmark::State& s) { run(s, tf::json_object_graph(), "{"); }
void BM_FreeString(benchmark::State& s) { run(s, tf::json_object_graph(), "{\"text\": \"Once upon"); }
void BM_FreeKey(benchmark::State& s) { run(s, tf::json_object_graph(), "{\"te"); }
void BM_SchemaKey(benchmark::State& s) { run(s, strict_schema(), "{\"n"); }
void BM_AfterColon(benchmark::State& s) { run(s, tf::json_object_graph(), "{\"a\": "); }
void BM_InNumber(benchmark::State& s) { run(s, tf::json_object_graph(), "{\"a\": 12"); }

void BM_BuildVocabulary(benchmark::State& state) {
  for (auto _ : state) {
    tf::TokenMask m(tokenizer(), static_cast<int32_t>(tokenizer().id_space()));
    benchmark::DoNotOptimize(m.vocab_size());
  }
}

BENCHMARK(BM_Start)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AfterBrace)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FreeString)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FreeKey)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SchemaKey)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AfterColon)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_InNumber)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BuildVocabulary)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
