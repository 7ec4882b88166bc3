// delay_proxy: the WAN rig's userspace delay proxy (tests/support/delay_proxy.hpp) as a program,
// for trying a pair of nodes by hand across an emulated distance:
//
//   delay_proxy --listen 127.0.0.1:27300 --target 10.79.1.2:27210 --delay-ms 25 [--max-queued-bytes N]
//
// Every connection to --listen is forwarded to --target with --delay-ms added each way, in order.
// Runs until SIGINT/SIGTERM, then prints the byte counts. For a bandwidth limit put a tc tbf
// qdisc on the path (tests/support/wan_link.hpp shows the commands).
#include <signal.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "tests/support/delay_proxy.hpp"

namespace {

// "host:port" -> (host, port); throws on anything else. Port 0 (listen: the kernel picks) is the caller's to refuse.
std::pair<std::string, std::uint16_t> host_port(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("not HOST:PORT: " + s);
  const unsigned long port = std::stoul(s.substr(colon + 1));
  if (port > 65535) throw std::invalid_argument("port out of range: " + s);
  return {s.substr(0, colon), static_cast<std::uint16_t>(port)};
}

tandem::test::delay_proxy_options parse(int argc, char** argv) {
  tandem::test::delay_proxy_options o;
  bool listen = false, target = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--listen") std::tie(o.listen_host, o.listen_port) = host_port(v), listen = true;
    else if (k == "--target") std::tie(o.target_host, o.target_port) = host_port(v), target = true;
    else if (k == "--delay-ms") o.one_way_delay = std::chrono::milliseconds{std::stoul(v)};
    else if (k == "--max-queued-bytes") o.max_queued_bytes = std::stoull(v);
    else throw std::invalid_argument("unknown option " + k);
  }
  if (!listen || !target || argc % 2 == 0) throw std::invalid_argument("--listen and --target are required");
  if (o.target_port == 0) throw std::invalid_argument("--target needs a port");
  return o;
}

} // namespace

int main(int argc, char** argv) {
  tandem::test::delay_proxy_options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "delay_proxy: %s\nusage: delay_proxy --listen HOST:PORT --target HOST:PORT --delay-ms MS "
                         "[--max-queued-bytes N]\n", e.what());
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr); // before the proxy's thread starts: it inherits the mask
  try {
    tandem::test::delay_proxy proxy{o};
    std::printf("delay_proxy: %s -> %s:%u, %lld ms each way\n", proxy.address().c_str(), o.target_host.c_str(),
                o.target_port, static_cast<long long>(o.one_way_delay.count() / 1000));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    const auto c = proxy.counters();
    std::printf("delay_proxy: %llu connection(s); %llu bytes to the target, %llu back; %llu failed connects\n",
                static_cast<unsigned long long>(c.accepted), static_cast<unsigned long long>(c.bytes_to_target),
                static_cast<unsigned long long>(c.bytes_to_client), static_cast<unsigned long long>(c.target_failures));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what()); // "delay_proxy: what failed"
    return 1;
  }
  return 0;
}
