// make_redis_peer when replication_bench and wan_bench are built without Debian libhiredis-dev
// (bench/CMakeLists.txt picks this file instead of redis_pair.cpp).
#include "bench/peers/redis_peer.hpp"

namespace tandem::bench {

std::unique_ptr<redis_peer> make_redis_peer(const std::string&, std::string& why, const redis_router&) {
  why = "left out: the bench was built without libhiredis-dev";
  return nullptr;
}

} // namespace tandem::bench
