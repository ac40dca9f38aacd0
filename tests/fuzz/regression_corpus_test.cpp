// Every input in tests/fuzz/corpus/<target>/ (the files that once crashed, hung or exhausted
// memory, and what the fuzzers find next) runs through its target as an ordinary test: each
// must end, in bounded time, without a crash.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz/fuzz_targets.h"

namespace tf::fuzz {
namespace {

const std::filesystem::path kCorpus = std::filesystem::path(TIGHTFIT_TEST_DATA).parent_path() / "fuzz" / "corpus";

TEST(FuzzRegressionCorpus, EveryInputEndsQuickly) {
  size_t inputs = 0;
  for (const Target& target : targets()) {
    const auto dir = kCorpus / target.name;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const auto start = std::chrono::steady_clock::now();
      target.run(bytes.data(), bytes.size());
      EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15)) << entry.path();
      ++inputs;
    }
  }
  EXPECT_GT(inputs, 10u);
}

}  // namespace
}  // namespace tf::fuzz
