#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "storage/npy.h"

namespace tf {

TEST(Npy, ReadsFixtureLogits) {
  const NpyArray a = read_npy(std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a/logits_seq16.npy");
  ASSERT_EQ(a.shape, (std::vector<int64_t>{16, 512}));
  ASSERT_EQ(a.data.size(), 16u * 512u);
  float maxabs = 0;
  for (float v : a.data) maxabs = std::max(maxabs, std::abs(v));
  EXPECT_GT(maxabs, 1.0f);  // stats.json: min -3.29, max 3.62
  EXPECT_LT(maxabs, 4.0f);
}

TEST(Npy, RoundTrip) {
  const std::string path = testing::TempDir() + "/rt.npy";
  const std::vector<float> v = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  write_npy(path, {2, 3}, v.data());
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.data, v);
  write_npy(path, {6}, v.data());
  EXPECT_EQ(read_npy(path).shape, (std::vector<int64_t>{6}));
}

TEST(Npy, TruncatedFileIsAnError) {
  const std::string path = testing::TempDir() + "/trunc.npy";
  const std::vector<float> v(100, 1.0f);
  write_npy(path, {100}, v.data());
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size() - 10);
  EXPECT_THROW(read_npy(path), std::runtime_error);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "garbage";
  EXPECT_THROW(read_npy(path), std::runtime_error);
}

}  // namespace tf
