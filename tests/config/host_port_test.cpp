#include <doctest/doctest.h>

#include "config/parse.hpp"

using tandem::config::host_port;
using tandem::config::parse_host_port;
using tandem::config::to_string;

TEST_CASE("parse_host_port accepts names and IPv4 and bracketed IPv6") {
  CHECK(parse_host_port("127.0.0.1:27100") == host_port{"127.0.0.1", 27100});
  CHECK(parse_host_port("b2.example:1") == host_port{"b2.example", 1});
  CHECK(parse_host_port("localhost:65535") == host_port{"localhost", 65535});
  CHECK(parse_host_port("[::1]:27100") == host_port{"::1", 27100});
  CHECK(parse_host_port("[fe80::1%eth0]:80") == host_port{"fe80::1%eth0", 80});
  CHECK(parse_host_port("[2001:db8::7]:443") == host_port{"2001:db8::7", 443});
}

TEST_CASE("parse_host_port rejects malformed addresses") {
  for (const char* bad : {
         "",                 // empty
         "127.0.0.1",        // missing port
         "127.0.0.1:",       // empty port
         ":27100",           // empty host
         "host:http",        // non-numeric port
         "host:27100x",      // trailing garbage
         "host:-1",          // sign
         "host:+80",         // sign
         "host:0",           // port 0 cannot be dialled
         "host:65536",       // too big
         "host:99999999999999999999", // would overflow if converted naively
         "::1:27100",        // IPv6 without brackets
         "[::1]",            // missing port
         "[::1]:",           // empty port
         "[::1]27100",       // missing ':' after ']'
         "[::1:27100",       // missing ']'
         "::1]:27100",       // stray ']'
         "[]:27100",         // empty host in brackets
         "[[::1]]:27100",    // nested brackets
         "ho st:27100",      // whitespace
         " host:27100",      // leading whitespace
       }) {
    CAPTURE(bad);
    CHECK_FALSE(parse_host_port(bad).has_value());
  }
}

TEST_CASE("to_string brackets IPv6 hosts and round-trips through parse_host_port") {
  for (const host_port& a : {host_port{"127.0.0.1", 27100}, host_port{"::1", 1}, host_port{"b.example", 65535}}) {
    CAPTURE(a.host);
    CHECK(parse_host_port(to_string(a)) == a);
  }
  CHECK(to_string(host_port{"::1", 27100}) == "[::1]:27100");
  CHECK(to_string(host_port{"b.example", 80}) == "b.example:80");
}
