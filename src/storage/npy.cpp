#include "storage/npy.h"

#include <cstring>
#include <fstream>
#include <regex>
#include <stdexcept>

namespace tf {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": not a readable .npy file: " + what);
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) fail(path, "bad magic");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len = 0;
  if (major == 1) {
    uint8_t b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) fail(path, "truncated header");
    header_len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    uint8_t b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) fail(path, "truncated header");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  } else {
    fail(path, "unsupported version " + std::to_string(major));
  }
  if (header_len > (1u << 20)) fail(path, "header too long");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) fail(path, "truncated header");

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')"))) fail(path, "no descr");
  const std::string descr = m[1];
  if (!std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")))
    fail(path, "no fortran_order");
  if (m[1] == "True") fail(path, "Fortran order is not supported");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) fail(path, "no shape");
  NpyArray arr;
  const std::string dims = m[1];
  const std::regex number(R"(\d+)");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it)
    arr.shape.push_back(std::stoll(it->str()));

  const int64_t n = arr.numel();
  size_t item = 0;
  if (descr == "<f4" || descr == "<i4") item = 4;
  else if (descr == "<f8" || descr == "<i8") item = 8;
  else fail(path, "unsupported dtype " + descr);
  std::vector<char> raw(static_cast<size_t>(n) * item);
  if (!in.read(raw.data(), static_cast<std::streamsize>(raw.size()))) fail(path, "data shorter than its shape");
  arr.data.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const char* p = raw.data() + i * item;
    if (descr == "<f4") { float v; std::memcpy(&v, p, 4); arr.data[i] = v; }
    else if (descr == "<f8") { double v; std::memcpy(&v, p, 8); arr.data[i] = static_cast<float>(v); }
    else if (descr == "<i4") { int32_t v; std::memcpy(&v, p, 4); arr.data[i] = static_cast<float>(v); }
    else { int64_t v; std::memcpy(&v, p, 8); arr.data[i] = static_cast<float>(v); }
  }
  return arr;
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::string dims;
  int64_t n = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ", ";
    n *= d;
  }
  if (shape.size() > 1) dims.resize(dims.size() - 1);  // "(3, 4)" but "(3,)"
  else if (!shape.empty()) dims.resize(dims.size() - 1);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(path + ": cannot open for writing");
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char lb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(lb, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(float)));
  if (!out) throw std::runtime_error(path + ": write failed (disk full?)");
}

}  // namespace tf
