// The engine tests' check of a constrained answer against its JSON schema graph.
#pragma once

#include <memory>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/json_constraint.h"
#include "tightfit/tightfit.h"

namespace tightfit::test {

// The answer under the graph: complete when the turn stopped, a valid prefix when cut.
inline void expect_conforming(const Result& result, std::shared_ptr<const tf::JsonSchemaGraph> graph) {
  tf::JsonConstraint c(std::move(graph));
  ASSERT_TRUE(c.advance(result.text)) << result.text;
  if (result.stop == StopReason::eos) {
    EXPECT_TRUE(c.complete()) << result.text;
    EXPECT_NO_THROW((void)nlohmann::json::parse(result.text)) << result.text;
  } else {
    EXPECT_EQ(result.stop, StopReason::max_tokens) << result.text;
  }
}

}  // namespace tightfit::test
