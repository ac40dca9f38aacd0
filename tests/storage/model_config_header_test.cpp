// model_config.h reaches nearly every translation unit (through src/model/), so it must declare
// nlohmann::json without including the full nlohmann/json.hpp, whose ~25k lines cost each of
// them about a second of compile time (issue 19, item 12). Included first, before anything that
// could bring json.hpp in on its own.
#include "storage/model_config.h"

#ifdef INCLUDE_NLOHMANN_JSON_HPP_
constexpr bool kFullJsonIncluded = true;
#else
constexpr bool kFullJsonIncluded = false;
#endif

#include <gtest/gtest.h>

namespace tf {
namespace {

TEST(ModelConfigHeader, DeclaresJsonWithoutIncludingAllOfIt) {
  EXPECT_FALSE(kFullJsonIncluded)
      << "storage/model_config.h includes nlohmann/json.hpp: use <nlohmann/json_fwd.hpp> there "
         "and include the full header in the .cpp files that need it";
}

}  // namespace
}  // namespace tf
