// The CLI runs on the public API (include/tightfit/): nothing under src/cli includes the model
// or kernel layers (docs/architecture.md). Reads the sources, so a new include fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

TEST(Layering, CliIncludesNeitherModelNorKernels) {
  const std::filesystem::path cli = std::filesystem::path(TIGHTFIT_TEST_DATA) / "../../src/cli";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(cli)) {
    std::ifstream in(entry.path());
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.rfind("#include", 0) != 0) continue;
      EXPECT_EQ(line.find("\"model/"), std::string::npos) << entry.path() << ":" << n << ": " << line;
      EXPECT_EQ(line.find("\"kernels/"), std::string::npos) << entry.path() << ":" << n << ": " << line;
    }
    ++files;
  }
  EXPECT_GT(files, 20);
}

}  // namespace
