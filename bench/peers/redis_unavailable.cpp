// make_redis_peer when replication_bench is built without Debian libhiredis-dev
// (bench/CMakeLists.txt picks this file instead of redis_pair.cpp).
#include "bench/peers/redis_peer.hpp"

namespace tandem::bench {

std::unique_ptr<redis_peer> make_redis_peer(const std::string&, std::string& why) {
  why = "left out: replication_bench was built without libhiredis-dev";
  return nullptr;
}

} // namespace tandem::bench
