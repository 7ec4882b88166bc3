#include "actors/metrics/errc.hpp"

namespace tandem::metrics {
namespace {

const char* describe(errc e) noexcept {
  switch (e) {
    case errc::invalid_metric_name: return "invalid metric name";
    case errc::invalid_label_name: return "invalid label name";
    case errc::reserved_label_name: return "reserved label name";
    case errc::duplicate_label_name: return "duplicate label name";
    case errc::already_registered: return "metric name already registered";
    case errc::invalid_buckets: return "invalid histogram bucket bounds";
  }
  return "unknown metrics error";
}

} // namespace

const std::error_category& metrics_category() noexcept {
  static const protocol::errc_category<errc> instance{"tandem.metrics", describe};
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), metrics_category()};
}

} // namespace tandem::metrics
