// Tokenizer and chat-template speed: encode throughput (MB/s of UTF-8 input) on mixed-language
// text (English, Korean, Chinese, code, emoji), with the piece cache warm (repeated text) and
// defeated (every word new), decode and streaming decode, template rendering, and file loading.
// Uses tests/data's Qwen3.5 tokenizer, or the tokenizer.json named by $TIGHTFIT_TOKENIZER.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tokenizer/chat_template.h"
#include "tokenizer/streaming_decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace tf::tokenizer {
namespace {

// CMake compiles sources by absolute path, so the fixtures are found next to this file.
const std::filesystem::path kData = std::filesystem::path(__FILE__).parent_path().parent_path() / "tests" / "data";

std::string tokenizer_path() {
  const char* env = std::getenv("TIGHTFIT_TOKENIZER");
  return env ? env : (kData / "tokenizer" / "qwen3.5-tokenizer.reconstructed.json").string();
}

const Tokenizer& qwen() {
  static const auto t = std::make_unique<Tokenizer>(Tokenizer::from_file(tokenizer_path()));
  return *t;
}

// One page of the kind of text a chat model sees, in five registers.
const char* const kMixedPage = R"PAGE(The quarterly report is due on Friday, but the numbers from the Seoul office haven't
arrived yet. Could you check whether they're stuck in review? We'd like to publish by 9:30 AM.
서울 사무소의 분기 보고서가 아직 도착하지 않았습니다. 검토 단계에서 멈춰 있는지 확인해 주시겠어요?
금요일 오전까지 발표하고 싶습니다. 감사합니다!
上海团队已经完成了新版本的测试，性能提升了大约百分之三十。下周一我们会发布正式版本，
请大家提前准备好相关文档和演示材料。
def moving_average(values: list[float], window: int = 3) -> list[float]:
    if window <= 0:
        raise ValueError(f"window must be positive, got {window}")
    return [sum(values[i - window:i]) / window for i in range(window, len(values) + 1)]

for (size_t i = 0; i < n; ++i) { acc += x[i] * w[i]; }  // dot product, 1e-3 tolerance
Great job team 🎉🚀 — the demo went well 👍🏽 and the customer loved it ❤️‍🔥 (see 📎 attached).
)PAGE";

std::string repeated_text(size_t bytes) {
  std::string s;
  while (s.size() < bytes) s += kMixedPage;
  return s;
}

// Words assembled from random characters of the same five registers, so almost every
// pre-tokenized piece is new and the cache cannot help: raw BPE speed.
std::string unique_words_text(size_t bytes, unsigned seed) {
  std::mt19937 rng(seed);
  const std::vector<std::pair<char32_t, char32_t>> ranges = {
      {'a', 'z'}, {0xAC00, 0xD7A3} /* Hangul */, {0x4E00, 0x9FFF} /* CJK */, {0x1F600, 0x1F64F} /* emoji */};
  std::string s;
  while (s.size() < bytes) {
    const auto& r = ranges[rng() % ranges.size()];
    const int len = 2 + static_cast<int>(rng() % 7);
    for (int k = 0; k < len; ++k) utf8_append(s, r.first + static_cast<char32_t>(rng() % (r.second - r.first + 1)));
    s += rng() % 9 == 0 ? ".\n" : " ";
  }
  return s;
}

void BM_EncodeMixedText(benchmark::State& state) {
  const Tokenizer& t = qwen();
  const std::string text = repeated_text(static_cast<size_t>(state.range(0)));
  size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = t.encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["bytes_per_token"] = static_cast<double>(text.size()) / static_cast<double>(tokens);
}
BENCHMARK(BM_EncodeMixedText)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

void BM_EncodeUniqueWords(benchmark::State& state) {
  const Tokenizer& t = qwen();
  unsigned seed = 1;
  size_t bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string text = unique_words_text(static_cast<size_t>(state.range(0)), seed++);
    state.ResumeTiming();
    benchmark::DoNotOptimize(t.encode(text).data());
    bytes += text.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_EncodeUniqueWords)->Arg(1 << 18)->Unit(benchmark::kMillisecond);

void BM_EncodeOneLongWord(benchmark::State& state) {
  const Tokenizer& t = qwen();
  const std::string text(static_cast<size_t>(state.range(0)), 'x');  // one piece: the merge loop itself
  for (auto _ : state) benchmark::DoNotOptimize(t.encode(text).data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EncodeOneLongWord)->Arg(1 << 16)->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  const Tokenizer& t = qwen();
  const std::string text = repeated_text(1 << 20);
  const auto ids = t.encode(text);
  for (auto _ : state) benchmark::DoNotOptimize(t.decode(ids).data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(ids.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

void BM_StreamingDecode(benchmark::State& state) {
  const Tokenizer& t = qwen();
  const auto ids = t.encode(repeated_text(1 << 16));
  for (auto _ : state) {
    StreamingDecoder d(t);
    size_t n = 0;
    for (TokenId id : ids) n += d.push(id).size();
    benchmark::DoNotOptimize(n);
  }
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(ids.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_StreamingDecode)->Unit(benchmark::kMillisecond);

void BM_RenderQwenTemplate(benchmark::State& state) {
  std::ifstream in(kData / "chat-template" / "chat_template.jinja");
  const ChatTemplate tmpl(std::string(std::istreambuf_iterator<char>(in), {}));
  ChatRequest r;
  r.tools = nlohmann::ordered_json::parse(
      R"([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])");
  for (int turn = 0; turn < 10; ++turn) {
    r.messages.push_back({{"role", "user"}, {"content", kMixedPage}});
    r.messages.push_back({{"role", "assistant"}, {"content", std::string("<think>plan</think>") + kMixedPage}});
  }
  r.messages.push_back({{"role", "user"}, {"content", "Summarize."}});
  size_t bytes = 0;
  for (auto _ : state) bytes += tmpl.render(r).size();
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_RenderQwenTemplate)->Unit(benchmark::kMicrosecond);

void BM_LoadTokenizerJson(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Tokenizer::from_file(tokenizer_path()).id_space());
}
BENCHMARK(BM_LoadTokenizerJson)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace tf::tokenizer

BENCHMARK_MAIN();
