// Streaming safetensors writer (spec §6). Every header is known before the first byte is written
// (tensors are declared up front), so each shard is written front to back exactly once.
#include "storage/safetensors_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace tf {

namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";

// 8-byte little-endian length + JSON header (tensors in the given order, contiguous), padded
// with spaces so the data buffer starts at a multiple of 8: safe for readers that want aligned
// data, and still valid JSON for every reader.
std::string build_header(const TensorSpec* first, const TensorSpec* last,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!metadata.empty()) j["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorSpec* t = first; t != last; ++t) {
    const uint64_t n = t->nbytes();
    j[t->name] = {{"dtype", std::string(dtype_name(t->dtype))},
                  {"shape", t->shape},
                  {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = j.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + text;
}

void check_specs(const std::vector<TensorSpec>& tensors) {
  std::set<std::string> names;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__")
      throw std::invalid_argument("safetensors writer: invalid tensor name \"" + t.name + "\"");
    if (!names.insert(t.name).second)
      throw std::invalid_argument("safetensors writer: tensor \"" + t.name + "\" declared twice");
    for (int64_t d : t.shape)
      if (d < 0)
        throw std::invalid_argument("safetensors writer: tensor \"" + t.name +
                                    "\" has a negative dimension " + shape_to_string(t.shape));
  }
}

[[noreturn]] void io_fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what + ": " + std::strerror(errno) +
                           " (disk full or folder not writable?)");
}

}  // namespace

struct ShardedSafetensorsWriter::Impl {
  struct Shard {
    std::string name;  // final file name
    size_t first = 0, last = 0;  // tensor range [first, last)
  };
  fs::path dir;
  std::vector<TensorSpec> tensors;
  std::map<std::string, std::string> metadata;
  std::vector<Shard> shards;
  std::vector<size_t> shard_of;  // tensor → shard

  size_t cur = 0;        // tensor being written
  uint64_t written = 0;  // bytes of it written so far
  std::FILE* out = nullptr;
  size_t open_shard = 0;  // shards [0, open_shard) have been opened
  std::vector<char> buffer = std::vector<char>(1 << 20);
  std::vector<fs::path> partials;  // files this writer created and has not renamed yet
  bool finished = false;

  fs::path partial_path(size_t s) const { return dir / (shards[s].name + ".partial"); }

  void close_current() {
    if (!out) return;
    const std::string p = partial_path(open_shard - 1).string();
    const int rc = std::fclose(out);
    out = nullptr;
    if (rc != 0) io_fail(p, "cannot finish writing");
  }

  // Closes the open shard and opens the next one, writing its header.
  void open_next() {
    close_current();
    const size_t s = open_shard++;
    const fs::path p = partial_path(s);
    out = std::fopen(p.c_str(), "wb");
    if (!out) io_fail(p.string(), "cannot create");
    partials.push_back(p);
    std::setvbuf(out, buffer.data(), _IOFBF, buffer.size());
    const std::string header =
        build_header(tensors.data() + shards[s].first, tensors.data() + shards[s].last, metadata);
    if (std::fwrite(header.data(), 1, header.size(), out) != header.size())
      io_fail(p.string(), "write failed");
  }

  // Moves past every tensor already complete (zero-sized ones included).
  void skip_complete() {
    while (cur < tensors.size() && written == tensors[cur].nbytes()) {
      ++cur;
      written = 0;
    }
  }

  void remove_partials() noexcept {
    if (out) std::fclose(out);
    out = nullptr;
    std::error_code ec;
    for (const auto& p : partials) fs::remove(p, ec);
    partials.clear();
  }
};

ShardedSafetensorsWriter::ShardedSafetensorsWriter(std::string out_dir,
                                                   std::vector<TensorSpec> tensors,
                                                   uint64_t max_shard_bytes,
                                                   std::map<std::string, std::string> metadata)
    : impl_(std::make_unique<Impl>()) {
  check_specs(tensors);
  if (max_shard_bytes == 0) throw std::invalid_argument("safetensors writer: max_shard_bytes is 0");
  Impl& m = *impl_;
  m.dir = out_dir;
  m.tensors = std::move(tensors);
  m.metadata = std::move(metadata);
  std::error_code ec;
  fs::create_directories(m.dir, ec);
  if (!fs::is_directory(m.dir)) throw std::runtime_error(out_dir + ": cannot create the output folder");

  // Same rule as MLX: close a shard before a tensor would push it past the limit.
  uint64_t shard_bytes = 0;
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const uint64_t n = m.tensors[i].nbytes();
    if (m.shards.empty() || (m.shards.back().last > m.shards.back().first && shard_bytes + n > max_shard_bytes)) {
      m.shards.push_back({"", i, i});
      shard_bytes = 0;
    }
    m.shards.back().last = i + 1;
    shard_bytes += n;
    m.shard_of.push_back(m.shards.size() - 1);
  }
  if (m.shards.empty()) m.shards.push_back({"", 0, 0});  // an empty model is still one file
  const size_t count = m.shards.size();
  for (size_t s = 0; s < count; ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, count);
    m.shards[s].name = count == 1 ? "model.safetensors" : name;
  }
}

ShardedSafetensorsWriter::~ShardedSafetensorsWriter() {
  if (impl_ && !impl_->finished) impl_->remove_partials();
}

void ShardedSafetensorsWriter::write(const void* data, size_t nbytes) {
  Impl& m = *impl_;
  if (m.finished) throw std::logic_error("safetensors writer: write() after finish()");
  if (nbytes == 0) return;
  m.skip_complete();
  if (m.cur == m.tensors.size())
    throw std::logic_error("safetensors writer: " + std::to_string(nbytes) +
                           " bytes written after every declared tensor was complete");
  const TensorSpec& t = m.tensors[m.cur];
  const uint64_t left = t.nbytes() - m.written;
  if (nbytes > left)
    throw std::logic_error("safetensors writer: tensor \"" + t.name + "\" (" +
                           std::string(dtype_name(t.dtype)) + " " + shape_to_string(t.shape) +
                           ") has " + std::to_string(left) + " bytes left, got " +
                           std::to_string(nbytes));
  while (m.open_shard <= m.shard_of[m.cur]) m.open_next();
  if (std::fwrite(data, 1, nbytes, m.out) != nbytes)
    io_fail(m.partial_path(m.open_shard - 1).string(), "write failed");
  m.written += nbytes;
}

void ShardedSafetensorsWriter::write(const std::string& name, const void* data, size_t nbytes) {
  Impl& m = *impl_;
  // Like skip_complete(), but stops at `name` so a zero-sized tensor can be "written" too.
  while (m.cur < m.tensors.size() && m.written == m.tensors[m.cur].nbytes() &&
         m.tensors[m.cur].name != name) {
    ++m.cur;
    m.written = 0;
  }
  const std::string expected = m.cur < m.tensors.size() ? m.tensors[m.cur].name : "(none)";
  if (name != expected)
    throw std::logic_error("safetensors writer: got bytes for tensor \"" + name +
                           "\" but the next declared tensor is \"" + expected + "\"");
  write(data, nbytes);
}

std::vector<std::string> ShardedSafetensorsWriter::finish() {
  Impl& m = *impl_;
  if (m.finished) throw std::logic_error("safetensors writer: finish() called twice");
  m.skip_complete();
  if (m.cur != m.tensors.size()) {
    const TensorSpec& t = m.tensors[m.cur];
    throw std::logic_error("safetensors writer: tensor \"" + t.name + "\" got " +
                           std::to_string(m.written) + " of its " + std::to_string(t.nbytes()) +
                           " bytes (and " + std::to_string(m.tensors.size() - m.cur - 1) +
                           " tensors after it none)");
  }
  while (m.open_shard < m.shards.size()) m.open_next();  // trailing shards of empty tensors
  m.close_current();

  std::vector<std::string> names;
  for (size_t s = 0; s < m.shards.size(); ++s) {
    const fs::path final_path = m.dir / m.shards[s].name;
    std::error_code ec;
    fs::rename(m.partial_path(s), final_path, ec);
    if (ec) {
      const std::string why = ec.message();
      // Never leave some shards in place and others missing: take the renamed ones back out.
      for (const auto& done : names) fs::remove(m.dir / done, ec);
      throw std::runtime_error(final_path.string() + ": cannot rename into place: " + why);
    }
    names.push_back(m.shards[s].name);
  }
  m.partials.clear();

  const fs::path index_path = m.dir / kIndexName;
  std::error_code ec;
  if (m.shards.size() == 1) {
    fs::remove(index_path, ec);  // a stale index would point loaders at shards that are gone
  } else {
    nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
    std::map<std::string, std::string> sorted;
    uint64_t total = 0;
    for (size_t i = 0; i < m.tensors.size(); ++i) {
      sorted[m.tensors[i].name] = m.shards[m.shard_of[i]].name;
      total += m.tensors[i].nbytes();
    }
    for (const auto& [name, file] : sorted) weight_map[name] = file;
    nlohmann::ordered_json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    const std::string text = index.dump(4) + "\n";
    const fs::path tmp = m.dir / (std::string(kIndexName) + ".partial");
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) io_fail(tmp.string(), "cannot create");
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok) {
      fs::remove(tmp, ec);
      io_fail(tmp.string(), "write failed");
    }
    fs::rename(tmp, index_path, ec);
    if (ec) throw std::runtime_error(index_path.string() + ": cannot rename into place: " + ec.message());
  }
  m.finished = true;
  return names;
}

void write_safetensors_file(const std::string& path, const std::vector<OwnedTensor>& tensors,
                            const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (const auto& t : tensors) {
    if (t.data.size() != t.spec.nbytes())
      throw std::invalid_argument("write_safetensors_file: tensor \"" + t.spec.name + "\" has " +
                                  std::to_string(t.data.size()) + " bytes, its shape needs " +
                                  std::to_string(t.spec.nbytes()));
    specs.push_back(t.spec);
  }
  check_specs(specs);
  const std::string header = build_header(specs.data(), specs.data() + specs.size(), metadata);
  const std::string tmp = path + ".partial";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) io_fail(tmp, "cannot create");
  bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
  for (const auto& t : tensors)
    ok = ok && (t.data.empty() || std::fwrite(t.data.data(), 1, t.data.size(), f) == t.data.size());
  std::error_code ec;
  if (std::fclose(f) != 0 || !ok) {
    fs::remove(tmp, ec);
    io_fail(tmp, "write failed");
  }
  fs::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(path + ": cannot rename into place: " + ec.message());
}

}  // namespace tf
