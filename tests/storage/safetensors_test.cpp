// Safetensors reader: the fixture checkpoint, and every way a header can be corrupt.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "storage/safetensors.h"
#include "storage/safetensors_writer.h"

namespace tf {
namespace {

const std::string kFixture = std::string(TIGHTFIT_TEST_DATA) + "/tiny-qwen35moe-a/model.safetensors";

float bf16_at(const TensorView& t, size_t i) {
  uint16_t h;
  std::memcpy(&h, t.data + 2 * i, 2);
  return bf16_to_f32(h);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A file with the given header text (exactly, no padding) followed by `data_bytes` zero bytes.
std::string crafted(const std::string& name, const std::string& header, size_t data_bytes) {
  const std::string path = testing::TempDir() + "/" + name + ".safetensors";
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += header;
  bytes.append(data_bytes, '\0');
  write_bytes(path, bytes);
  return path;
}

// Opening must fail with a message holding every one of `needles`.
void expect_open_error(const std::string& path, std::initializer_list<std::string> needles) {
  try {
    SafetensorsFile::open(path);
    FAIL() << "opened " << path << " without error";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message must be one line: " << msg;
  }
}

TEST(Safetensors, ReadsFixture) {
  auto f = SafetensorsFile::open(kFixture);
  EXPECT_EQ(f->tensors().size(), 72u);
  EXPECT_EQ(f->file_size(), 758200u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  // Tensors come back in data order.
  for (size_t i = 1; i < f->tensors().size(); ++i)
    EXPECT_LE(f->tensors()[i - 1].data, f->tensors()[i].data);

  const TensorView* a_log = f->find("model.language_model.layers.0.linear_attn.A_log");
  ASSERT_NE(a_log, nullptr);
  EXPECT_EQ(a_log->dtype, DType::BF16);
  EXPECT_EQ(a_log->shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(a_log->nbytes, 8u);
  EXPECT_FLOAT_EQ(bf16_at(*a_log, 0), 2.34375f);  // values read with numpy from the same file
  EXPECT_FLOAT_EQ(bf16_at(*a_log, 3), 1.7265625f);

  const TensorView* head = f->find("lm_head.weight");
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->shape, (std::vector<int64_t>{512, 64}));
  EXPECT_FLOAT_EQ(bf16_at(*head, 3 * 64 + 0), 0.08349609f);
  EXPECT_FLOAT_EQ(bf16_at(*head, 3 * 64 + 3), 0.17578125f);

  const TensorView* q = f->find("model.language_model.layers.3.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->dim(-1), 64);
  EXPECT_FLOAT_EQ(bf16_at(*q, 255 * 64 + 63), 0.24707031f);

  const TensorView* experts = f->find("model.language_model.layers.0.mlp.experts.gate_up_proj");
  ASSERT_NE(experts, nullptr);
  EXPECT_EQ(shape_to_string(experts->shape), "[8, 64, 64]");
  EXPECT_EQ(f->find("no.such.tensor"), nullptr);
}

TEST(Safetensors, AllDtypesAndEmptyTensors) {
  const std::string path = testing::TempDir() + "/dtypes.safetensors";
  std::vector<OwnedTensor> ts;
  const DType all[] = {DType::BOOL, DType::U8,  DType::I8,  DType::F8_E4M3, DType::F8_E5M2,
                       DType::U16,  DType::I16, DType::F16, DType::BF16,    DType::U32,
                       DType::I32,  DType::F32, DType::U64, DType::I64,     DType::F64};
  int k = 0;
  for (DType d : all) {
    OwnedTensor t{{"t" + std::to_string(k++), d, {3}}, {}};
    t.data.resize(t.spec.nbytes());
    for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = static_cast<uint8_t>(i + k);
    ts.push_back(t);
  }
  ts.push_back({{"empty", DType::F32, {0, 5}}, {}});
  ts.push_back({{"scalar", DType::I64, {}}, std::vector<uint8_t>(8, 7)});
  write_safetensors_file(path, ts, {{"format", "mlx"}});
  auto f = SafetensorsFile::open(path);
  ASSERT_EQ(f->tensors().size(), ts.size());
  for (const auto& t : ts) {
    const TensorView* v = f->find(t.spec.name);
    ASSERT_NE(v, nullptr) << t.spec.name;
    EXPECT_EQ(v->dtype, t.spec.dtype);
    EXPECT_EQ(v->shape, t.spec.shape);
    ASSERT_EQ(v->nbytes, t.data.size());
    if (!t.data.empty()) EXPECT_EQ(std::memcmp(v->data, t.data.data(), t.data.size()), 0) << t.spec.name;
  }
  EXPECT_EQ(f->find("scalar")->numel(), 1);
  EXPECT_EQ(f->metadata().at("format"), "mlx");
}

TEST(Safetensors, UnalignedDataIsReadable) {
  // MLX does not pad its header (spec §6): data may start at any byte.
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}})";
  ASSERT_NE((8 + header.size()) % 4, 0u);
  const std::string path = crafted("unaligned", header, 0);
  std::string bytes = read_file(path);
  const float vals[2] = {1.5f, -2.25f};
  bytes += std::string("\x01\x02\x03", 3);
  bytes.append(reinterpret_cast<const char*>(vals), 8);
  write_bytes(path, bytes);
  auto f = SafetensorsFile::open(path);
  const TensorView* b = f->find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(load_float(b->data, b->dtype, 0), 1.5f);
  EXPECT_EQ(load_float(b->data, b->dtype, 1), -2.25f);
}

TEST(Safetensors, TruncatedFixture) {
  const std::string bytes = read_file(kFixture);
  const std::string path = testing::TempDir() + "/truncated.safetensors";
  write_bytes(path, bytes.substr(0, bytes.size() - 100));
  // The last tensor in data order is the final norm.
  expect_open_error(path, {"model.language_model.norm.weight", "past the end", "truncated"});
  write_bytes(path, bytes.substr(0, 5000));
  expect_open_error(path, {"header length", "exceeds the file size"});
  write_bytes(path, bytes.substr(0, 3));
  expect_open_error(path, {"shorter than the 8-byte header length"});
  write_bytes(path, "");
  expect_open_error(path, {"shorter than the 8-byte header length"});
}

TEST(Safetensors, HeaderLengthTooLarge) {
  std::string bytes(8, '\xff');
  bytes += "{}";
  const std::string path = testing::TempDir() + "/hugelen.safetensors";
  write_bytes(path, bytes);
  expect_open_error(path, {"header length 18446744073709551615 exceeds the file size"});
}

TEST(Safetensors, BadJson) {
  expect_open_error(crafted("badjson", R"({"a": {"dtype": "F32", )", 0), {"not valid UTF-8 JSON"});
  expect_open_error(crafted("notobj", R"([1, 2, 3])", 0), {"not a JSON object"});
  expect_open_error(crafted("badutf8", "{\"a\xff\xfe\": 1}", 0), {"not valid UTF-8 JSON"});
  expect_open_error(crafted("entrynotobj", R"({"w": 5})", 0), {"\"w\"", "not a JSON object"});
  expect_open_error(crafted("badmeta", R"({"__metadata__": 3})", 0), {"__metadata__"});
}

TEST(Safetensors, EntryFieldsAreTypeChecked) {
  expect_open_error(crafted("unknowndtype", R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})", 2),
                    {"\"w\"", "unknown dtype \"Q4\""});
  expect_open_error(crafted("nodtype", R"({"w":{"shape":[2],"data_offsets":[0,2]}})", 2),
                    {"\"w\"", "dtype"});
  expect_open_error(crafted("shapestr", R"({"w":{"dtype":"U8","shape":"2","data_offsets":[0,2]}})", 2),
                    {"\"w\"", "shape"});
  expect_open_error(crafted("shapeneg", R"({"w":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}})", 2),
                    {"\"w\"", "negative"});
  expect_open_error(crafted("shapefloat", R"({"w":{"dtype":"U8","shape":[2.5],"data_offsets":[0,2]}})", 2),
                    {"\"w\"", "non-integer"});
  expect_open_error(crafted("offneg", R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[-1,1]}})", 2),
                    {"\"w\"", "data_offsets"});
  expect_open_error(crafted("offthree", R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,1,2]}})", 2),
                    {"\"w\"", "data_offsets"});
  expect_open_error(
      crafted("overflow",
              R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
      {"\"w\"", "overflows"});
  expect_open_error(
      crafted("overflow2", R"({"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}})", 8),
      {"\"w\"", "overflows"});
}

TEST(Safetensors, OffsetsMustBeConsistent) {
  expect_open_error(crafted("pastend", R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 3),
                    {"\"w\"", "past the end of the data section (3 bytes"});
  expect_open_error(crafted("hugeoff",
                            R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]}})", 3),
                    {"\"w\"", "past the end"});
  expect_open_error(crafted("reversed", R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[3,1]}})", 4),
                    {"\"w\"", "end before begin"});
  expect_open_error(crafted("mismatch", R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 24),
                    {"\"w\"", "hold 20 bytes", "F32 [2, 3] needs 24"});
  expect_open_error(
      crafted("overlap",
              R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", 6),
      {"\"b\"", "overlaps tensor \"a\""});
  expect_open_error(
      crafted("same",
              R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}})", 4),
      {"overlaps tensor"});
  expect_open_error(
      crafted("dup",
              R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2),
      {"\"a\"", "twice"});
  // Empty tensors may sit anywhere inside the buffer, and gaps are allowed.
  auto f = SafetensorsFile::open(crafted(
      "gaps",
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"e":{"dtype":"F32","shape":[0],"data_offsets":[1,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[5,6]}})",
      8));
  EXPECT_EQ(f->tensors().size(), 3u);
}

TEST(Safetensors, MissingFileAndFolder) {
  expect_open_error(testing::TempDir() + "/does-not-exist.safetensors", {"cannot open"});
  expect_open_error(testing::TempDir(), {"not a regular file"});
}

}  // namespace
}  // namespace tf

namespace tf {
namespace {

// Random corruption of the header bytes: every open either succeeds with views that lie inside
// the file, or throws std::runtime_error — never crashes or reads outside the mapping.
TEST(Safetensors, RandomHeaderCorruption) {
  const std::string bytes = read_file(kFixture);
  const uint64_t header_len = 8736;  // from the file's first 8 bytes
  const std::string path = testing::TempDir() + "/fuzz.safetensors";
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  int opened = 0, rejected = 0;
  for (int iter = 0; iter < 300; ++iter) {
    std::string b = bytes;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t at = next() % (8 + header_len);
      const char choices[] = {'0', '9', '[', ']', '"', ',', ':', '-', '\xff', '}', ' ', 'e'};
      b[at] = next() % 2 ? choices[next() % sizeof choices] : static_cast<char>(next());
    }
    if (next() % 8 == 0) b.resize(next() % b.size());
    write_bytes(path, b);
    try {
      auto f = SafetensorsFile::open(path);
      ++opened;
      const uint8_t* lo = f->tensors().empty() ? nullptr : f->tensors().front().data - 1;
      uint64_t sum = 0;
      for (const auto& t : f->tensors()) {
        ASSERT_GE(t.data, lo);
        ASSERT_LE(t.data + t.nbytes, lo + 1 + f->file_size());
        for (size_t i = 0; i < t.nbytes; i += 97) sum += t.data[i];
      }
      EXPECT_GE(sum, 0u);
    } catch (const std::runtime_error& e) {
      ++rejected;
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(rejected, 100);  // most corruptions must be caught
  EXPECT_GT(opened + rejected, 299);
}

}  // namespace
}  // namespace tf
