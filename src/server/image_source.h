// An image a client names in a request, turned into a tightfit::Image: a `data:` URL with base64
// bytes (always), a file on this machine (a `file://` URL or an absolute path, only with
// --allow-local-images) or an http(s) URL (downloaded, only with --allow-remote-images). The
// image itself is decoded and checked by the engine when the request is submitted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tightfit/tightfit.h"

namespace tf::server {

struct ImagePolicy {
  bool allow_local = false;
  bool allow_remote = false;
  size_t max_bytes = 20u << 20;
};

// Throws a 400 ApiError naming `param` for a URL it may not or cannot use.
tightfit::Image image_from_url(const std::string& url, const ImagePolicy& policy,
                               const std::string& param);

// RFC 4648 base64 (standard alphabet; padding optional; whitespace skipped). Throws
// std::invalid_argument on any other character.
std::vector<uint8_t> decode_base64(std::string_view text);

}  // namespace tf::server
