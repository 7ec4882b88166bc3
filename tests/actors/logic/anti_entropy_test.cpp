// logic/anti_entropy.hpp: digests as tables -- equal sides, one missing record, one differing
// content, empty sides, huge seq gaps, bucket geometry, bounds on bucket counts at the limit and
// one past it, drill-down to the exact seq, and the JSON form with every field checked.
#include "actors/logic/anti_entropy.hpp"

#include <algorithm>
#include <limits>

#include <doctest/doctest.h>

#include "protocol/codec.hpp"

using namespace tandem::anti_entropy;
using tandem::journal::record;

namespace {

record make(std::string origin, std::uint64_t origin_seq, std::string payload = "p") {
  record r;
  r.seq = origin_seq + 1000; // the local seq differs between nodes: the digest must not see it
  r.origin = std::move(origin);
  r.origin_seq = origin_seq;
  r.publisher = "pub";
  r.publisher_seq = origin_seq;
  r.timestamp_ns = 42;
  r.topic = "t";
  r.payload = std::move(payload);
  return r;
}

digest build(const digest_request& req, const std::vector<record>& recs) {
  digest_builder b(req);
  for (const auto& r : recs)
    b.add(r.origin, r.origin_seq, content_checksum(r));
  return b.result();
}

std::vector<record> range(std::string origin, std::uint64_t first, std::uint64_t last) {
  std::vector<record> out;
  for (auto s = first; s <= last; ++s)
    out.push_back(make(origin, s));
  return out;
}

const digest_request req_a_100{"A", 1, 100, 10};

} // namespace

TEST_CASE("anti_entropy: identical holdings compare equal whatever the order, seq and path") {
  auto left = range("A", 1, 100);
  auto right = left;
  std::reverse(right.begin(), right.end());
  for (auto& r : right) {
    r.seq += 77;
    r.path = {"B", "C"};
  }
  auto c = compare(build(req_a_100, left), build(req_a_100, right));
  CHECK(c.error.empty());
  CHECK(c.differing.empty());
  CHECK(c.min_divergent() == 0);
}

TEST_CASE("anti_entropy: one missing record is found in its bucket and drilled down to its seq") {
  auto left = range("A", 1, 100);
  auto right = left;
  right.erase(right.begin() + 56); // origin_seq 57
  auto c = compare(build(req_a_100, left), build(req_a_100, right));
  REQUIRE(c.differing.size() == 1);
  CHECK(c.differing[0] == difference{51, 60, difference_kind::differs, 10, 9});
  auto next = drill_down("A", c.differing[0], 4);
  REQUIRE(next);
  CHECK(*next == digest_request{"A", 51, 60, 4});
  // Narrow until one seq is left: 51..60 -> 57..59 -> 57.
  for (int round = 0; round < 5 && next; ++round) {
    c = compare(build(*next, left), build(*next, right));
    REQUIRE(c.differing.size() == 1);
    next = drill_down("A", c.differing[0], 4);
  }
  CHECK(c.differing[0] == difference{57, 57, difference_kind::missing_right, 1, 0});
  CHECK(c.differing[0].exact());
}

TEST_CASE("anti_entropy: one differing content differs with equal counts") {
  auto left = range("A", 1, 100);
  auto right = left;
  right[9].payload = "q"; // origin_seq 10
  auto c = compare(build(req_a_100, left), build(req_a_100, right));
  REQUIRE(c.differing.size() == 1);
  CHECK(c.differing[0] == difference{1, 10, difference_kind::differs, 10, 10});
  CHECK(c.min_divergent() == 1);
  // Every content field counts; the local seq and path do not.
  auto base = make("A", 5);
  const auto crc = content_checksum(base);
  for (auto change : {+[](record& r) { r.publisher = "other"; }, +[](record& r) { r.publisher_seq++; },
                      +[](record& r) { r.timestamp_ns++; }, +[](record& r) { r.topic = "u"; },
                      +[](record& r) { r.topic = "tp"; r.payload = ""; }, +[](record& r) { r.origin_seq++; }}) {
    auto r = base;
    change(r);
    CHECK(content_checksum(r) != crc);
  }
  base.seq = 1;
  base.path = {"X"};
  CHECK(content_checksum(base) == crc);
}

TEST_CASE("anti_entropy: empty sides") {
  const auto none = build(req_a_100, {});
  CHECK(compare(none, none).differing.empty());
  auto c = compare(none, build(req_a_100, range("A", 95, 100)));
  REQUIRE(c.differing.size() == 1);
  CHECK(c.differing[0] == difference{91, 100, difference_kind::missing_left, 0, 6});
  c = compare(build(req_a_100, range("A", 1, 20)), none);
  REQUIRE(c.differing.size() == 2);
  CHECK(c.differing[0].kind == difference_kind::missing_right);
  CHECK(c.min_divergent() == 20);
}

TEST_CASE("anti_entropy: records of other origins and outside the range are ignored") {
  auto left = range("A", 1, 100);
  auto right = left;
  auto extra = range("B", 1, 100);
  right.insert(right.end(), extra.begin(), extra.end());
  right.push_back(make("A", 101));
  CHECK(compare(build(req_a_100, left), build(req_a_100, right)).differing.empty());
}

TEST_CASE("anti_entropy: huge seq gaps and the full 64-bit range") {
  const auto max = std::numeric_limits<std::uint64_t>::max();
  const digest_request huge{"A", 1, max, max_buckets};
  auto left = build(huge, {make("A", 1), make("A", max / 2), make("A", max)});
  CHECK(left.buckets.size() == max_buckets);
  CHECK(left.buckets.back().last == max);
  auto right = build(huge, {make("A", 1), make("A", max)});
  auto c = compare(left, right);
  REQUIRE(c.differing.size() == 1);
  CHECK(c.differing[0].kind == difference_kind::missing_right);
  CHECK(c.differing[0].first <= max / 2);
  CHECK(c.differing[0].last >= max / 2);
  // The wide bucket narrows in a bounded number of rounds (64 bits, /1024 per round).
  auto next = drill_down("A", c.differing[0], max_buckets);
  int rounds = 0;
  while (next && rounds < 10) {
    c = compare(build(*next, {make("A", max / 2)}), build(*next, {}));
    REQUIRE(c.differing.size() == 1);
    next = drill_down("A", c.differing[0], max_buckets);
    ++rounds;
  }
  CHECK(c.differing[0] == difference{max / 2, max / 2, difference_kind::missing_right, 1, 0});
  CHECK(rounds <= 6);
}

TEST_CASE("anti_entropy: bucket geometry") {
  struct row {
    digest_request req;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  };
  const std::vector<row> rows = {
    {{"A", 1, 10, 4}, {{1, 3}, {4, 6}, {7, 9}, {10, 10}}},
    {{"A", 1, 4, 3}, {{1, 2}, {3, 4}}},
    {{"A", 5, 5, 64}, {{5, 5}}},
    {{"A", 1, 3, 1}, {{1, 3}}},
    {{"A", 11, 20, 10}, {{11, 11}, {12, 12}, {13, 13}, {14, 14}, {15, 15}, {16, 16}, {17, 17}, {18, 18}, {19, 19}, {20, 20}}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.req.to);
    const auto d = build(r.req, {});
    REQUIRE(d.buckets.size() == r.ranges.size());
    for (std::size_t i = 0; i < r.ranges.size(); ++i) {
      CHECK(d.buckets[i].first == r.ranges[i].first);
      CHECK(d.buckets[i].last == r.ranges[i].second);
    }
  }
}

TEST_CASE("anti_entropy: requests are checked, buckets at the limit and one past it") {
  CHECK(check_request({"A", 1, 10, max_buckets}).empty());
  CHECK(check_request({"A", 1, 10, max_buckets + 1}).find("buckets") != std::string::npos);
  CHECK(check_request({"A", 1, 10, 0}).find("buckets") != std::string::npos);
  CHECK(check_request({"", 1, 10, 4}).find("origin") != std::string::npos);
  CHECK(check_request({std::string(255, 'o'), 1, 10, 4}).empty());
  CHECK(check_request({std::string(256, 'o'), 1, 10, 4}).find("origin") != std::string::npos);
  CHECK(check_request({"A", 0, 10, 4}).find("from") != std::string::npos);
  CHECK(check_request({"A", 11, 10, 4}).find("below") != std::string::npos);
  CHECK(compare(build({"A", 1, 10, 4}, {}), build({"A", 1, 10, 5}, {})).error != "");
  CHECK(!drill_down("A", difference{7, 7}));
}

TEST_CASE("anti_entropy: the JSON form round-trips and every field is checked") {
  const auto d = build(req_a_100, range("A", 3, 40));
  std::string error;
  auto back = parse_digest(to_json(d), error);
  REQUIRE(back);
  CHECK(*back == d);
  const std::vector<std::pair<std::string, std::string>> bad = {
    {"[]", "not a JSON object"},
    {R"({"origin":"A","from":1,"to":10})", "required"},
    {R"({"origin":"A","from":-1,"to":10,"buckets_requested":1,"buckets":[[1,10,0,0]]})", "required"},
    {R"({"origin":"A","from":1,"to":10,"buckets_requested":1025,"buckets":[]})", "buckets must be 1..1024"},
    {R"({"origin":"A","from":1,"to":10,"buckets_requested":2,"buckets":[[1,5,0,0]]})", "array of 2"},
    {R"({"origin":"A","from":1,"to":10,"buckets_requested":1,"buckets":[[1,9,0,0]]})", "bucket 0"},
    {R"({"origin":"A","from":1,"to":10,"buckets_requested":1,"buckets":[[1,10,11,0]]})", "bucket 0"},
    {R"({"origin":"A","from":1,"to":10,"buckets_requested":1,"buckets":[[1,10,10,"x"]]})", "bucket 0"},
  };
  for (const auto& [json, reason] : bad) {
    CAPTURE(json);
    error.clear();
    CHECK(!parse_digest(json, error));
    CHECK(error.find(reason) != std::string::npos);
  }
  error.clear();
  CHECK(parse_digest(R"({"origin":"A","from":1,"to":10,"buckets_requested":1,"buckets":[[1,10,10,5]]})", error));
}

TEST_CASE("anti_entropy: the /digest query is parsed and every parameter checked") {
  std::string error;
  auto q = parse_digest_query("/digest?origin=A&from=5&to=90&buckets=1024", error);
  REQUIRE(q);
  CHECK(q->request == digest_request{"A", 5, 90, 1024});
  CHECK(q->to_given);
  q = parse_digest_query("/digest?origin=B", error);
  REQUIRE(q);
  CHECK(q->request == digest_request{"B", 1, 0, default_buckets});
  CHECK(!q->to_given);
  CHECK(parse_digest_query("/digest?origin=A&to=18446744073709551615", error));
  const std::vector<std::pair<std::string, std::string>> bad = {
    {"/digest", "origin"},
    {"/digest?from=1", "origin"},
    {"/digest?origin=A&buckets=1025", "buckets must be 1..1024"},
    {"/digest?origin=A&buckets=0", "buckets must be"},
    {"/digest?origin=A&from=0", "from must be"},
    {"/digest?origin=A&from=9&to=8", "below"},
    {"/digest?origin=A&to=18446744073709551616", "decimal"},
    {"/digest?origin=A&to=-1", "decimal"},
    {"/digest?origin=A&to=1x", "decimal"},
    {"/digest?origin=A&origin=B", "repeated"},
    {"/digest?origin=", "repeated or has no value"},
    {"/digest?origin=A&limit=3", "unknown parameter 'limit'"},
    {"/digest?origin=" + std::string(256, 'o'), "origin must be 1..255"},
    {"/digests?origin=A", "not /digest"},
  };
  for (const auto& [target, reason] : bad) {
    CAPTURE(target);
    error.clear();
    CHECK(!parse_digest_query(target, error));
    CHECK(error.find(reason) != std::string::npos);
  }
  CHECK(parse_digest_query("/digest?origin=" + std::string(255, 'o'), error));
}

TEST_CASE("anti_entropy: a bucket wholly missing on one side is exact; adjacent ranges merge") {
  CHECK(difference{11, 20, difference_kind::missing_left, 0, 10}.exact());
  CHECK(!difference{11, 20, difference_kind::missing_left, 0, 9}.exact());
  CHECK(difference{11, 20, difference_kind::missing_right, 10, 0}.exact());
  CHECK(!difference{11, 20, difference_kind::differs, 10, 10}.exact());
  const std::vector<difference> in = {
    {5, 5, difference_kind::missing_right, 1, 0},
    {6, 10, difference_kind::missing_right, 5, 0},
    {11, 11, difference_kind::missing_left, 0, 1},
    {13, 13, difference_kind::missing_left, 0, 1},
    {14, 14, difference_kind::missing_left, 0, 1},
  };
  const std::vector<difference> out = {
    {5, 10, difference_kind::missing_right, 6, 0},
    {11, 11, difference_kind::missing_left, 0, 1},
    {13, 14, difference_kind::missing_left, 0, 2},
  };
  CHECK(merge_adjacent(in) == out);
  CHECK(merge_adjacent({}).empty());
}

TEST_CASE("anti_entropy: digests cross the wire as 1.5 frames and come back equal") {
  const digest_request req{"A", 1, 10, 4};
  const auto d = build(req, range("A", 2, 9));
  auto f = to_frame(req, 77);
  CHECK(f == tandem::protocol::digest_request{77, "A", 1, 10, 4});
  CHECK(from_frame(f) == req);
  tandem::protocol::digest_reply reply;
  reply.request_id = 77;
  fill_reply(d, reply);
  // Through the codec: the decoder's geometry check accepts what fill_reply made.
  std::string bytes;
  REQUIRE(tandem::protocol::encode(reply, bytes).ok());
  auto decoded = tandem::protocol::decode(bytes);
  REQUIRE(decoded.ok());
  const auto back = from_frame(std::get<tandem::protocol::digest_reply>(decoded.value()));
  CHECK(back == d);
  CHECK(compare(back, d).differing.empty());
  // More buckets than a u16 can say go out as 0, which the peer refuses.
  CHECK(to_frame({"A", 1, 10, 70000}, 1).buckets == 0);
}
