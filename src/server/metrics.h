// GET /metrics: the engine's counters and the server's, in Prometheus' text exposition format
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
#pragma once

#include <optional>
#include <string>

#include "server/server_state.h"
#include "tightfit/tightfit.h"

namespace tf::server {

// `engine` is unset while the model loads (only the server's own lines are written then).
std::string prometheus_text(const std::optional<tightfit::EngineStats>& engine,
                            const ServerCounters& counters);

}  // namespace tf::server
