#include "server/image_source.h"

#include <filesystem>
#include <stdexcept>

#include <httplib.h>

#include "server/api_error.h"

namespace tf::server {

std::vector<uint8_t> decode_base64(std::string_view text) {
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;  // '-' and '_': the URL-safe alphabet
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size() / 4 * 3);
  uint32_t bits = 0;
  int count = 0;
  bool padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = value_of(c);
    if (v < 0 || padding) throw std::invalid_argument("not base64");
    bits = (bits << 6) | static_cast<uint32_t>(v);
    if (++count == 4) {
      bytes.push_back(static_cast<uint8_t>(bits >> 16));
      bytes.push_back(static_cast<uint8_t>(bits >> 8));
      bytes.push_back(static_cast<uint8_t>(bits));
      bits = 0;
      count = 0;
    }
  }
  if (count == 1) throw std::invalid_argument("truncated base64");
  if (count == 2) bytes.push_back(static_cast<uint8_t>(bits >> 4));
  if (count == 3) {
    bytes.push_back(static_cast<uint8_t>(bits >> 10));
    bytes.push_back(static_cast<uint8_t>(bits >> 2));
  }
  return bytes;
}

namespace {

tightfit::Image from_data_url(const std::string& url, const ImagePolicy& policy,
                              const std::string& param) {
  // data:[<media type>][;base64],<data> (RFC 2397)
  const size_t comma = url.find(',');
  if (comma == std::string::npos || url.rfind(";base64", comma) == std::string::npos)
    throw bad_request("image data URL must be 'data:image/...;base64,<data>'", param);
  std::vector<uint8_t> bytes;
  try {
    bytes = decode_base64(std::string_view(url).substr(comma + 1));
  } catch (const std::invalid_argument&) {
    throw bad_request("image data URL is not valid base64", param);
  }
  if (bytes.empty()) throw bad_request("image data URL holds no bytes", param);
  if (bytes.size() > policy.max_bytes)
    throw bad_request("image is larger than " + std::to_string(policy.max_bytes) + " bytes", param);
  return tightfit::Image::from_encoded(std::move(bytes));
}

tightfit::Image from_remote_url(const std::string& url, const ImagePolicy& policy,
                                const std::string& param) {
  if (!policy.allow_remote)
    throw bad_request("image URLs are not fetched unless the server runs with "
                      "--allow-remote-images; send the image as a data: URL (base64)",
                      param);
  // scheme://host[:port]/path
  const size_t host_start = url.find("://") + 3;
  const size_t path_start = url.find('/', host_start);
  const std::string origin = url.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client client(origin);
  client.set_follow_location(true);
  client.set_connection_timeout(10);
  client.set_read_timeout(30);
  std::string body;
  bool too_large = false;
  httplib::Result result = client.Get(path, [&](const char* data, size_t length) {
    if (body.size() + length > policy.max_bytes) {
      too_large = true;
      return false;
    }
    body.append(data, length);
    return true;
  });
  if (too_large)
    throw bad_request("image at " + url + " is larger than " + std::to_string(policy.max_bytes) +
                          " bytes",
                      param);
  if (!result)
    throw bad_request("could not download " + url + ": " + httplib::to_string(result.error()), param);
  if (result->status != 200)
    throw bad_request("could not download " + url + ": HTTP " + std::to_string(result->status), param);
  return tightfit::Image::from_encoded(std::vector<uint8_t>(body.begin(), body.end()));
}

tightfit::Image from_local_path(const std::string& path, const ImagePolicy& policy,
                                const std::string& param) {
  if (!policy.allow_local)
    throw bad_request("local image paths are refused unless the server runs with "
                      "--allow-local-images; send the image as a data: URL (base64)",
                      param);
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error))
    throw bad_request("image file " + path + " does not exist on the server", param);
  return tightfit::Image::from_file(path);
}

}  // namespace

tightfit::Image image_from_url(const std::string& url, const ImagePolicy& policy,
                               const std::string& param) {
  if (url.rfind("data:", 0) == 0) return from_data_url(url, policy, param);
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0)
    return from_remote_url(url, policy, param);
  if (url.rfind("file://", 0) == 0) return from_local_path(url.substr(7), policy, param);
  if (!url.empty() && url[0] == '/') return from_local_path(url, policy, param);
  throw bad_request("image URL must be a data: URL, an http(s) URL or a file path", param);
}

}  // namespace tf::server
