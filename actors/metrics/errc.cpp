#include "actors/metrics/errc.hpp"

namespace tandem::metrics {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "tandem.metrics"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_metric_name: return "invalid metric name";
      case errc::invalid_label_name: return "invalid label name";
      case errc::reserved_label_name: return "reserved label name";
      case errc::duplicate_label_name: return "duplicate label name";
      case errc::already_registered: return "metric name already registered";
      case errc::invalid_buckets: return "invalid histogram bucket bounds";
    }
    return "unknown metrics error";
  }
};

} // namespace

const std::error_category& metrics_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), metrics_category()};
}

} // namespace tandem::metrics
