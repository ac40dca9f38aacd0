// select_top_k (model/moe.h): ids by descending probability, ties to the lower id — checked
// against a stable sort of all experts, on random probabilities with many exact ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "model/moe.h"

namespace tf {
namespace {

TEST(SelectTopK, MatchesAStableSortWithTiesToTheLowerId) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    const int E = 1 + trial % 300, k = std::min(E, 1 + trial % 9);
    std::vector<float> p(E);
    // Few distinct values: ties everywhere.
    for (float& x : p) x = static_cast<float>(rng() % 7) / 7.0f;
    std::vector<int32_t> order(E);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[a] > p[b]; });
    std::vector<int32_t> ids(k);
    select_top_k(p.data(), E, k, ids.data());
    EXPECT_EQ(ids, std::vector<int32_t>(order.begin(), order.begin() + k))
        << "E " << E << " k " << k;
  }
}

}  // namespace
}  // namespace tf
