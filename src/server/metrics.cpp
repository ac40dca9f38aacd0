#include "server/metrics.h"

#include <sstream>

namespace tf::server {
namespace {

void metric(std::ostringstream& out, const char* name, const char* type, const char* help,
            double value) {
  out << "# HELP tightfit_" << name << ' ' << help << '\n'
      << "# TYPE tightfit_" << name << ' ' << type << '\n'
      << "tightfit_" << name << ' ' << value << '\n';
}

}  // namespace

std::string prometheus_text(const std::optional<tightfit::EngineStats>& engine,
                            const ServerCounters& counters) {
  std::ostringstream out;
  out.precision(17);
  metric(out, "ready", "gauge", "1 once the model is loaded and requests are served.", engine ? 1 : 0);
  metric(out, "http_requests_total", "counter", "HTTP requests received.",
         static_cast<double>(counters.http_requests.load()));
  metric(out, "http_errors_total", "counter", "HTTP requests answered with an error status.",
         static_cast<double>(counters.rejected.load()));
  metric(out, "client_disconnects_total", "counter",
         "Requests cancelled because the client went away.",
         static_cast<double>(counters.client_disconnects.load()));
  if (!engine) return out.str();
  const tightfit::EngineStats& s = *engine;
  metric(out, "requests_total", "counter", "Generation requests accepted by the engine.",
         static_cast<double>(s.requests_total));
  metric(out, "requests_active", "gauge", "Requests being decoded now.",
         static_cast<double>(s.requests_active));
  metric(out, "requests_queued", "gauge",
         "Requests waiting for a free sequence slot or for room in the memory limit.",
         static_cast<double>(s.requests_queued));
  metric(out, "requests_refused_total", "counter", "Requests refused because the queue was full.",
         static_cast<double>(s.requests_refused));
  metric(out, "prompt_tokens_total", "counter", "Prompt tokens of accepted requests.",
         static_cast<double>(s.prompt_tokens_total));
  metric(out, "cached_prompt_tokens_total", "counter", "Prompt tokens restored from the prompt cache.",
         static_cast<double>(s.cached_tokens_total));
  metric(out, "generated_tokens_total", "counter", "Tokens generated.",
         static_cast<double>(s.generated_tokens_total));
  metric(out, "prompt_cache_hits_total", "counter", "Requests that started from a cached prefix.",
         static_cast<double>(s.prompt_cache_hits));
  metric(out, "prompt_cache_bytes", "gauge", "Memory held by the prompt cache.",
         static_cast<double>(s.prompt_cache_bytes));
  metric(out, "kv_reserved_tokens", "gauge",
         "KV cache tokens the running requests hold room for (prompt + max_tokens each).",
         static_cast<double>(s.kv_reserved_tokens));
  metric(out, "resident_memory_bytes", "gauge", "Resident memory of the process.",
         static_cast<double>(s.resident_memory_bytes));
  metric(out, "busy_seconds_total", "counter", "Time spent in forward passes.", s.busy_seconds);
  const double processed = static_cast<double>(s.prompt_tokens_total - s.cached_tokens_total +
                                               s.generated_tokens_total);
  metric(out, "tokens_per_second", "gauge",
         "Prompt and generated tokens processed per second of forward passes, since start.",
         s.busy_seconds > 0 ? processed / s.busy_seconds : 0);
  return out.str();
}

}  // namespace tf::server
