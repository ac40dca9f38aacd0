// A thin blocking HTTP(S) client over libcurl, just what the Hub download needs: GET into a
// string (API calls), HEAD for metadata, and GET into a file with resume (Range) and progress.
// Only http:// and https:// are allowed, for the request and for every redirect.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tf {

// The request never got an HTTP answer: DNS failure, refused connection, TLS error, timeout,
// connection dropped mid-body. `retryable` is true for the kinds a retry may cure.
struct NetworkError : std::runtime_error {
  NetworkError(const std::string& message, int curl_code, bool retryable)
      : std::runtime_error(message), curl_code(curl_code), retryable(retryable) {}
  int curl_code;
  bool retryable;
};

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool follow_redirects = true;
  bool head_only = false;
  long connect_timeout_s = 30;
  // Abort when slower than 1 byte/s for this long (a stalled connection), 0 = never.
  long stall_timeout_s = 60;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // of the last response; names lower-cased
  std::string body;                            // capped at 1 MiB for file downloads' errors
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// GET (or HEAD) into memory. Throws NetworkError when no HTTP status came back.
HttpResponse http_fetch(const HttpRequest& request);

// Called with the bytes of the body received so far in this transfer and the expected total of
// this transfer (0 while unknown). Return false to abort.
using TransferProgress = std::function<bool(int64_t received, int64_t expected)>;

struct FileTransfer {
  HttpResponse response;     // status and headers; body only for non-2xx answers
  int64_t bytes_written = 0; // appended to the file in this transfer
  bool restarted = false;    // the server ignored the Range: the file was rewritten from 0
};

// GET `request.url` into the open file descriptor `fd`, which already holds `resume_from`
// bytes: asks for the rest with a Range header; on 206 appends, on 200 truncates and writes the
// whole body. Non-2xx bodies are not written. Throws NetworkError (transport), and
// std::runtime_error naming `file_name` when a write fails (ENOSPC: "disk full").
FileTransfer http_download(const HttpRequest& request, int fd, int64_t resume_from,
                           const std::string& file_name, const TransferProgress& progress);

}  // namespace tf
