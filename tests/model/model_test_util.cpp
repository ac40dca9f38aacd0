// fixture_tokens (model_test_util.h), here so that the header stays free of the JSON library.
#include "model/model_test_util.h"

#include <fstream>

#include <nlohmann/json.hpp>

namespace tf::test {

std::vector<int32_t> fixture_tokens(const std::string& key) {
  std::ifstream in(tiny_dir() + "/tokens.json");
  const auto j = nlohmann::json::parse(in);
  return j.at(key).get<std::vector<int32_t>>();
}

}  // namespace tf::test
