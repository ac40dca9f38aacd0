// A newcomer's first build (issue 19, item 12): README.md's first command builds the tightfit
// program alone, that target compiles nothing but the program's sources (no test, benchmark or
// Python module), and the full JSON header stays out of the headers that many translation units
// include (docs/architecture.md §1: headers take <nlohmann/json_fwd.hpp>).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "cli_test_support.h"

namespace tf {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = fs::path(TIGHTFIT_TEST_DATA) / ".." / "..";

TEST(FirstBuild, ReadmeFirstCommandBuildsOnlyTheProgram) {
  const std::string readme = test::read_file((kRoot / "README.md").string());
  std::smatch first;
  ASSERT_TRUE(std::regex_search(readme, first, std::regex("```sh\n([^`]*)```"))) << "no sh block";
  const std::string command = first[1];
  EXPECT_NE(command.find("cmake --build build --target tightfit &&"), std::string::npos) << command;
  EXPECT_NE(command.find("./build/tightfit generate --model models/"), std::string::npos) << command;
  EXPECT_EQ(command.find("ctest"), std::string::npos) << command;
}

// What `cmake --build build --target tightfit` reads, from the Ninja build this test belongs to.
TEST(FirstBuild, TheProgramTargetCompilesOnlyProgramSources) {
  const fs::path build = fs::path(TIGHTFIT_BINARY).parent_path();
  if (!fs::exists(build / "build.ninja")) GTEST_SKIP() << "not a Ninja build";
  const std::string list = test::scratch("tightfit-inputs.txt");
  const std::string command =
      "ninja -C '" + build.string() + "' -t inputs tightfit > '" + list + "' 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::string inputs = test::read_file(list);
  size_t sources = 0;
  const std::string src = fs::weakly_canonical(kRoot / "src").string() + "/";
  for (size_t at = 0, end; at < inputs.size(); at = end + 1) {
    end = inputs.find('\n', at);
    if (end == std::string::npos) end = inputs.size();
    const std::string path = inputs.substr(at, end - at);
    if (path.size() < 4 || path.substr(path.size() - 4) != ".cpp") continue;
    ++sources;
    EXPECT_EQ(fs::weakly_canonical(path).string().rfind(src, 0), 0u) << path;
  }
  EXPECT_GT(sources, 100u) << inputs;
}

// Headers of src/ (the server's protocol headers aside) and include/ that include the full
// nlohmann/json.hpp: only those whose own declarations need a complete JSON type.
TEST(FirstBuild, OnlyHeadersThatNeedItIncludeTheFullJsonHeader) {
  const std::set<std::string> need_it = {
      "src/tokenizer/json_fields.h",            // JSON field accessors, for .cpp files that parse
      "src/tokenizer/tokenizer_json_reader.h",  // a JSON member (the small rest of the file)
      "src/tokenizer/chat_template.h",          // ChatRequest's JSON members
      "src/runtime/chat_session.h",             // the conversation's JSON messages
  };
  const std::regex full_header(R"(#\s*include\s*<nlohmann/json\.hpp>)");
  std::set<std::string> found;
  for (const char* top : {"src", "include"}) {
    for (const auto& entry : fs::recursive_directory_iterator(kRoot / top)) {
      const fs::path relative = fs::relative(entry.path(), kRoot);
      if (entry.path().extension() != ".h" || relative.string().rfind("src/server/", 0) == 0)
        continue;
      if (std::regex_search(test::read_file(entry.path().string()), full_header))
        found.insert(relative.generic_string());
    }
  }
  for (const std::string& header : found)
    EXPECT_TRUE(need_it.count(header)) << header << " includes <nlohmann/json.hpp>: include "
                                       << "<nlohmann/json_fwd.hpp> and the full header in the .cpp";
  EXPECT_FALSE(found.empty());  // the scan saw the headers that do need it
}

}  // namespace
}  // namespace tf
