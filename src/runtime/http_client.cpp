#include "runtime/http_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

namespace tf {

namespace {

constexpr size_t kMaxErrorBody = 1 << 20;

void global_init() {
  // curl_global_init is not thread-safe and must run once before any handle exists.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// Header lines of every response arrive here (redirects included): a status line starts a new
// response, so only the last one's headers are kept.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.clear();
  } else if (const size_t colon = line.find(':'); colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    response->headers[name] = trim(line.substr(colon + 1));
  }
  return size * count;
}

size_t on_body_to_string(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

bool retryable(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

// A handle with the options every request shares.
std::unique_ptr<CURL, CurlDeleter> make_handle(const HttpRequest& request, curl_slist* headers,
                                               HttpResponse* response, char* error_buffer) {
  global_init();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) throw std::runtime_error("cannot initialise libcurl");
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "tightfit/0.1 (libcurl)");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, request.connect_timeout_s);
  if (request.stall_timeout_s > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, request.stall_timeout_s);
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, response);
  if (request.head_only) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  return curl;
}

std::unique_ptr<curl_slist, SlistDeleter> make_headers(const HttpRequest& request) {
  curl_slist* list = nullptr;
  for (const auto& h : request.headers) list = curl_slist_append(list, h.c_str());
  return std::unique_ptr<curl_slist, SlistDeleter>(list);
}

[[noreturn]] void throw_network(CURLcode code, const char* error_buffer, const std::string& url) {
  std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
  throw NetworkError(detail + " (" + url + ")", static_cast<int>(code), retryable(code));
}

struct DownloadState {
  CURL* curl = nullptr;
  int fd = -1;
  int64_t resume_from = 0;
  const std::string* file_name = nullptr;
  FileTransfer* result = nullptr;
  bool decided = false;   // the first body byte of the final response has been seen
  bool to_file = false;   // that response is 2xx: write to the file
  int write_errno = 0;
  const TransferProgress* progress = nullptr;
};

size_t on_body_to_file(char* data, size_t size, size_t count, void* user) {
  auto* s = static_cast<DownloadState*>(user);
  const size_t n = size * count;
  if (!s->decided) {
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    s->decided = true;
    s->to_file = status == 200 || status == 206;
    if (status == 200 && s->resume_from > 0) {
      // The server sent the whole file instead of the range: start over.
      if (ftruncate(s->fd, 0) != 0 || lseek(s->fd, 0, SEEK_SET) != 0) {
        s->write_errno = errno;
        return 0;
      }
      s->result->restarted = true;
    }
  }
  if (!s->to_file) {
    std::string& body = s->result->response.body;
    if (body.size() < kMaxErrorBody) body.append(data, std::min(n, kMaxErrorBody - body.size()));
    return n;
  }
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(s->fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      s->write_errno = errno;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    done += static_cast<size_t>(w);
  }
  s->result->bytes_written += static_cast<int64_t>(n);
  return n;
}

int on_transfer_info(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* s = static_cast<DownloadState*>(user);
  if (!s->progress || !*s->progress || !s->to_file) return 0;
  return (*s->progress)(static_cast<int64_t>(dlnow), static_cast<int64_t>(dltotal)) ? 0 : 1;
}

}  // namespace

HttpResponse http_fetch(const HttpRequest& request) {
  HttpResponse response;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  auto headers = make_headers(request);
  auto curl = make_handle(request, headers.get(), &response, error_buffer);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_body_to_string);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) throw_network(code, error_buffer, request.url);
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

FileTransfer http_download(const HttpRequest& request, int fd, int64_t resume_from,
                           const std::string& file_name, const TransferProgress& progress) {
  FileTransfer result;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  auto headers = make_headers(request);
  auto curl = make_handle(request, headers.get(), &result.response, error_buffer);
  if (lseek(fd, resume_from, SEEK_SET) != resume_from) {
    throw std::runtime_error("cannot seek in " + file_name + ": " + std::strerror(errno));
  }
  DownloadState state;
  state.curl = curl.get();
  state.fd = fd;
  state.resume_from = resume_from;
  state.file_name = &file_name;
  state.result = &result;
  state.progress = &progress;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_to_file);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_transfer_info);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &state);
  // CURLOPT_RANGE rather than CURLOPT_RESUME_FROM: curl then hands over a 200 answer (a server
  // that ignores ranges) instead of failing, and on_body_to_file restarts the file.
  const std::string range = std::to_string(resume_from) + "-";
  if (resume_from > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  const CURLcode code = curl_easy_perform(c);
  if (state.write_errno != 0) {
    if (state.write_errno == ENOSPC || state.write_errno == EDQUOT) {
      throw std::runtime_error("disk full while writing " + file_name +
                               ": free some space (or point HF_HUB_CACHE at a bigger disk) "
                               "and run again; the download resumes where it stopped");
    }
    throw std::runtime_error("cannot write " + file_name + ": " + std::strerror(state.write_errno));
  }
  if (code == CURLE_ABORTED_BY_CALLBACK) throw std::runtime_error("download of " + file_name + " cancelled");
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.response.status);
  if (code != CURLE_OK) throw_network(code, error_buffer, request.url);
  return result;
}

}  // namespace tf
