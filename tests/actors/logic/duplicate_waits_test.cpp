// actors/logic/duplicate_waits.cpp
#include <doctest/doctest.h>

#include <vector>

#include "actors/logic/duplicate_waits.hpp"

using namespace tandem::logic;

namespace {
using tokens = std::vector<std::uint64_t>;
using originals = std::vector<duplicate_waits::original>;
} // namespace

TEST_CASE("duplicate_waits: a publish is answered only once every original is safe") {
  publisher_dedup marks;
  duplicate_waits w;
  REQUIRE(marks.admit("p", 1));
  REQUIRE(marks.admit("q", 5));
  w.wait(7, originals{{"p", 1}, {"q", 5}});
  CHECK(w.take_safe(marks).empty());
  marks.on_durable("p", 1); // durable here only: not safe
  marks.on_durable("q", 5);
  CHECK(w.take_safe(marks).empty());
  marks.on_safe("p", 1);
  CHECK(w.take_safe(marks).empty()); // q:5 not safe yet
  marks.on_safe("q", 5);
  CHECK(w.take_safe(marks) == tokens{7});
  CHECK(w.empty());
}

TEST_CASE("duplicate_waits: nothing to wait for answers at once; answers come in waiting order") {
  publisher_dedup marks;
  duplicate_waits w;
  REQUIRE(marks.admit("p", 3));
  w.wait(1, originals{{"p", 3}});
  w.wait(2, {});
  w.wait(3, originals{{"p", 2}});
  CHECK(w.take_safe(marks) == tokens{2});
  marks.on_safe("p", 3); // a high-water mark: covers 2 and 3
  CHECK(w.take_safe(marks) == tokens{1, 3});
}

TEST_CASE("duplicate_waits: a write error gives back every waiting publish with its unsafe originals") {
  publisher_dedup marks;
  duplicate_waits w;
  REQUIRE(marks.admit("p", 1));
  REQUIRE(marks.admit("q", 1));
  marks.on_safe("p", 1);
  w.wait(4, originals{{"p", 1}, {"q", 1}, {"p", 1}});
  w.wait(5, originals{{"q", 1}});
  marks.on_append_failed();
  CHECK(duplicate_waits::unsafe_positions(originals{{"p", 1}, {"q", 1}, {"q", 1}}, marks) ==
        std::vector<std::size_t>{1, 2});
  CHECK(duplicate_waits::all_safe(originals{{"p", 1}}, marks));
  auto lost = w.take_on_write_error(marks);
  REQUIRE(lost.size() == 2);
  CHECK(lost[0].token == 4);
  CHECK(lost[0].unsafe == std::vector<std::size_t>{1});
  CHECK(lost[1].token == 5);
  CHECK(lost[1].unsafe == std::vector<std::size_t>{0});
  CHECK(w.empty());
}
