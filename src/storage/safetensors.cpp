// Safetensors reader (spec §6). The whole header is checked before any view is handed out, so
// a corrupt or truncated file fails at open with a message naming the file and the tensor, and
// nothing later can read outside the mapping.
#include "storage/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/json_read.h"

namespace tf {

namespace {

// The reference implementation refuses headers above 100 MB; a real 35B header is ~150 KB.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

[[noreturn]] void fail_tensor(const std::string& path, const std::string& name,
                              const std::string& what) {
  throw std::runtime_error(path + ": tensor \"" + name + "\": " + what);
}

uint64_t read_le_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

// Checks one header entry completely; `data_size` is the length of the data buffer.
Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& v,
                  uint64_t data_size) {
  if (!v.is_object()) fail_tensor(path, name, "header entry is not a JSON object");
  Entry e{name, DType::F32, {}, 0, 0};

  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) fail_tensor(path, name, "missing or non-string \"dtype\"");
  auto parsed = parse_dtype(dt->get<std::string>());
  if (!parsed) fail_tensor(path, name, "unknown dtype \"" + dt->get<std::string>() + "\"");
  e.dtype = *parsed;

  auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) fail_tensor(path, name, "missing or non-array \"shape\"");
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_integer()) fail_tensor(path, name, "shape " + sh->dump() + " holds a non-integer");
    if (d.is_number_unsigned() ? d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                               : d.get<int64_t>() < 0)
      fail_tensor(path, name, "shape " + sh->dump() + " has a negative or huge dimension");
    const uint64_t dim = d.get<uint64_t>();
    if (__builtin_mul_overflow(numel, dim, &numel))
      fail_tensor(path, name, "shape " + sh->dump() + " overflows 64 bits");
    e.shape.push_back(static_cast<int64_t>(dim));
  }
  uint64_t nbytes;
  if (numel > static_cast<uint64_t>(INT64_MAX) ||
      __builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(e.dtype)), &nbytes))
    fail_tensor(path, name, "shape " + sh->dump() + " overflows 64 bits");

  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    fail_tensor(path, name, "\"data_offsets\" must be two non-negative integers");
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  if (e.begin > e.end) fail_tensor(path, name, "data_offsets " + off->dump() + " end before begin");
  if (e.end > data_size)
    fail_tensor(path, name,
                "data_offsets " + off->dump() + " reach past the end of the data section (" +
                    std::to_string(data_size) + " bytes; file truncated?)");
  if (e.end - e.begin != nbytes)
    fail_tensor(path, name,
                "data_offsets " + off->dump() + " hold " + std::to_string(e.end - e.begin) +
                    " bytes but " + std::string(dtype_name(e.dtype)) + " " +
                    shape_to_string(e.shape) + " needs " + std::to_string(nbytes));
  return e;
}

}  // namespace

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(path, "not a safetensors file: only " + std::to_string(size) +
                   " bytes, shorter than the 8-byte header length (truncated?)");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (map == MAP_FAILED) fail(path, std::string("cannot mmap: ") + std::strerror(map_errno));

  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = static_cast<const uint8_t*>(map);
  f->size_ = size;

  const uint64_t header_len = read_le_u64(f->map_);
  if (header_len > size - 8)
    fail(path, "header length " + std::to_string(header_len) + " exceeds the file size " +
                   std::to_string(size) + " (truncated or not a safetensors file)");
  if (header_len > kMaxHeaderBytes)
    fail(path, "header length " + std::to_string(header_len) + " is implausibly large");
  const uint64_t data_size = size - 8 - header_len;
  const char* header = reinterpret_cast<const char*>(f->map_ + 8);

  // Duplicate keys are not an error to most JSON parsers (the last one wins); in a header they
  // mean two tensors claim the same name, so catch them while parsing.
  std::string duplicate;
  std::set<std::string> seen;
  nlohmann::json j;
  check_json_nesting(std::string_view(header, header_len), path + ": header");
  try {
    j = nlohmann::json::parse(
        header, header + header_len,
        [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
          if (depth == 1 && ev == nlohmann::json::parse_event_t::key) {
            const std::string& key = parsed.get_ref<const std::string&>();
            if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
          }
          return true;
        });
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("header is not valid UTF-8 JSON: ") + e.what());
  }
  if (!j.is_object()) fail(path, "header is not a JSON object");
  if (!duplicate.empty()) fail_tensor(path, duplicate, "appears twice in the header");

  std::vector<Entry> entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail(path, "__metadata__ is not a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m)
        f->metadata_[m.key()] = m->is_string() ? m->get<std::string>() : m->dump();
      continue;
    }
    entries.push_back(parse_entry(path, it.key(), *it, data_size));
  }

  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end != b.end ? a.end < b.end : a.name < b.name;
  });
  const Entry* prev = nullptr;  // the last non-empty range
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;
    if (prev && e.begin < prev->end)
      fail_tensor(path, e.name, "data overlaps tensor \"" + prev->name + "\"");
    prev = &e;
  }

  const uint8_t* data = f->map_ + 8 + header_len;
  f->tensors_.reserve(entries.size());
  for (Entry& e : entries) {
    f->index_[e.name] = f->tensors_.size();
    f->tensors_.push_back(
        TensorView{std::move(e.name), e.dtype, std::move(e.shape), data + e.begin, e.end - e.begin});
  }
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace tf
