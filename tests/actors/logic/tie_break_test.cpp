// actors/logic/tie_break.cpp
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "actors/logic/tie_break.hpp"

using namespace tandem::logic;

TEST_CASE("both ends keep the same one of two crossing connections") {
  const std::vector<std::string> names{"a",  "b",     "A",        "node-1", "node-10",
                                       "node-2", "n",  "\xff" "high", "\x01" "low", "ab", "abc"};
  for (const std::string& x : names)
    for (const std::string& y : names) {
      if (x == y)
        continue;
      // Connection 1 was dialed by x, connection 2 by y.
      const bool x_keeps_1 = keep(x, y, dial_direction::outbound);
      const bool y_keeps_1 = keep(y, x, dial_direction::inbound);
      const bool x_keeps_2 = keep(x, y, dial_direction::inbound);
      const bool y_keeps_2 = keep(y, x, dial_direction::outbound);
      CAPTURE(x);
      CAPTURE(y);
      CHECK(x_keeps_1 == y_keeps_1); // both sides agree on connection 1
      CHECK(x_keeps_2 == y_keeps_2); // and on connection 2
      CHECK(x_keeps_1 != x_keeps_2); // exactly one survives
    }
}

TEST_CASE("the connection dialed by the name that sorts first byte-wise survives") {
  CHECK(keep_outbound("a", "b"));
  CHECK_FALSE(keep_outbound("b", "a"));
  CHECK(keep_outbound("node-10", "node-2")); // bytes, not numbers
  CHECK(keep_outbound("ab", "abc"));          // a prefix sorts first
  CHECK(keep_outbound("Z", "a"));             // uppercase before lowercase
  CHECK(keep_outbound("\x7f", "\x80"));       // unsigned bytes: 0x80 sorts after 0x7f
  CHECK(keep("b", "a", dial_direction::inbound));
  CHECK_FALSE(keep("b", "a", dial_direction::outbound));
}
