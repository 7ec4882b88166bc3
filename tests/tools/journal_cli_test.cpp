// The journal as an operator meets it through tandemd: verify and dump, a torn tail recovered at
// startup, and a damaged sealed segment that refuses startup naming the file and byte offset.
#include <algorithm>
#include <csignal>
#include <filesystem>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/journal/test_util.hpp"
#include "tests/tools/node_fixture.hpp"

using namespace tandem::test;
namespace jt = tandem::journal::test;
namespace fs = std::filesystem;

namespace {

// A data dir whose journal holds `batches` x 50 records of 1 KiB in 64 KiB segments.
std::string make_data_dir(const temp_dir& dir, int batches) {
  auto data = dir / "data";
  fs::create_directories(data);
  auto options = jt::options_for(data + "/journal", 64 * 1024);
  options.instance_name = "A";
  auto j = jt::open_ok(options);
  for (int b = 0; b < batches; ++b)
    jt::append_sync(*j, static_cast<std::uint64_t>(b) * 50, 50, 1024);
  return data;
}

std::vector<std::string> segments_of(const std::string& journal_dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(journal_dir))
    if (e.path().extension() == ".seg")
      out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

void flip_byte(const std::string& file, std::size_t offset) {
  auto bytes = jt::read_bytes(file);
  REQUIRE(offset < bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5a);
  jt::write_bytes(file, bytes);
}

std::vector<std::string> node_args(const node_ports& ports, const std::string& data,
                                   std::vector<std::string> extra = {}) {
  std::vector<std::string> more{"--set", "name=A", "--set", "data_dir=" + data};
  more.insert(more.end(), extra.begin(), extra.end());
  return tandemd_args(ports, more);
}

} // namespace

TEST_CASE("journal verify reports an intact journal, accepting the data dir or the journal dir") {
  temp_dir dir;
  auto data = make_data_dir(dir, 4);
  for (const auto& target : {data, data + "/journal"}) {
    auto r = run({tandemd_path(), "journal", "verify", target});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("total records=200") != std::string::npos);
    CHECK(r.out.find("OK") != std::string::npos);
  }
}

TEST_CASE("journal dump prints one line per record from the requested seq") {
  temp_dir dir;
  auto data = make_data_dir(dir, 2);
  auto r = run({tandemd_path(), "journal", "dump", data, "--from", "95"});
  CHECK(r.exit_code == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 6);
  CHECK(r.out.rfind("seq=95 origin=A", 0) == 0);
  CHECK(run({tandemd_path(), "journal", "dump", data, "--from", "x"}).exit_code == 2);
}

TEST_CASE("a flipped byte in a sealed segment: verify names file and offset, tandemd refuses to start") {
  temp_dir dir;
  auto data = make_data_dir(dir, 4);
  auto segs = segments_of(data + "/journal");
  REQUIRE(segs.size() >= 3);
  flip_byte(segs[1], 3000); // inside a record in the middle of a sealed segment

  auto verify = run({tandemd_path(), "journal", "verify", data});
  CHECK(verify.exit_code == 1);
  CHECK(verify.err.find("corruption") != std::string::npos);
  CHECK(verify.err.find(fs::path(segs[1]).filename().string()) != std::string::npos);
  CHECK(verify.err.find("offset") != std::string::npos);

  node_ports ports;
  auto start = run(node_args(ports, data), dir.path(), 20s);
  CHECK(start.exit_code == 1);
  CHECK(start.err.find("journal check failed, not starting") != std::string::npos);
  CHECK(start.err.find(fs::path(segs[1]).filename().string()) != std::string::npos);
  CHECK(start.err.find("offset") != std::string::npos);
}

TEST_CASE("a torn tail is truncated at startup and logged; every earlier record survives") {
  temp_dir dir;
  auto data = make_data_dir(dir, 3);
  auto segs = segments_of(data + "/journal");
  auto last = segs.back();
  auto size = fs::file_size(last);
  REQUIRE(size > 100);
  fs::resize_file(last, size - 100); // cut into the last record, as a crash mid-write would

  node_ports ports;
  child_process node{node_args(ports, data), dir.path(), dir.path()};
  REQUIRE(wait_until_up(node, ports.admin));
  auto status = admin_get(ports.admin, "/status");
  auto doc = nlohmann::json::parse(status.body);
  CHECK(doc["journal"]["durable_seq"] == 149);
  CHECK(doc["journal"]["recovery"]["truncated_bytes"].get<int>() > 0);
  node.signal(SIGTERM);
  REQUIRE(node.wait_exit(2s) == 0);
  CHECK(node.stderr_text().find("dropped a torn tail of") != std::string::npos);
  auto verify = run({tandemd_path(), "journal", "verify", data});
  CHECK(verify.exit_code == 0);
  CHECK(verify.out.find("total records=149") != std::string::npos);
}

TEST_CASE("the node's status shows its journal and destinations' retention holds") {
  temp_dir dir;
  auto data = make_data_dir(dir, 1);
  node_ports ports;
  child_process node{node_args(ports, data, {"--set", R"(destinations=[{"name":"B","sync_type":"sync","addresses":[]}])"}),
                     dir.path(), dir.path()};
  REQUIRE(wait_until_up(node, ports.admin));
  auto doc = nlohmann::json::parse(admin_get(ports.admin, "/status").body);
  CHECK(doc["journal"]["durable_seq"] == 50);
  CHECK(doc["journal"]["first_seq"] == 1);
  CHECK(doc["journal"]["held_back"][0]["destination"] == "B");
  CHECK(doc["journal"]["held_back"][0]["acknowledged"] == 0);
  CHECK(node.stderr_text().find("new destination B starts from the oldest record held") != std::string::npos);
}
