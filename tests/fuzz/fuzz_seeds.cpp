// Writes the seed corpora (tests/fuzz/corpus/<target>/) from real encodings, so the committed
// seeds follow the formats when they change:  build-fuzz/tests/fuzz/fuzz_seeds tests/fuzz/corpus
// (scripts/fuzz --seeds runs it). Seeds are valid inputs plus a few edge cases; the fuzzers
// mutate from there. Each target's header comment says how it reads its input.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client/bookmark.hpp"
#include "client/file_publish_store.hpp"
#include "config/parse.hpp"
#include "journal/record_codec.hpp"
#include "protocol/codec.hpp"
#include "protocol/compression.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/protocol/message_samples.hpp"

namespace fs = std::filesystem;
using namespace tandem;

namespace {

std::string root;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(root + "/" + target);
  std::ofstream f(root + "/" + target + "/" + name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string frame_of(const protocol::message& m) {
  std::string out;
  if (!protocol::encode(m, out).ok())
    std::abort();
  return out;
}

journal::record journal_record(int i) {
  journal::record r;
  r.seq = static_cast<std::uint64_t>(i);
  r.origin = "node-a";
  r.origin_seq = static_cast<std::uint64_t>(i);
  r.publisher = i % 2 ? "pub-1" : "";
  r.publisher_seq = static_cast<std::uint64_t>(i);
  r.path = i % 3 ? std::vector<std::string>{"node-a", "node-b"} : std::vector<std::string>{};
  r.timestamp_ns = 1'700'000'000'000'000'000LL + i;
  r.topic = "orders/" + std::to_string(i);
  r.payload = std::string(static_cast<std::size_t>(i * 7), 'p');
  return r;
}

// compressed_batch (1.7): real lz4 and zstd streams of a record_batch, so that the fuzzer starts
// inside the decompressors and decode_batch behind them.
void put_compressed_batches(protocol::samples::random_messages& rnd) {
  protocol::record_batch rb;
  for (int i = 0; i < 8; ++i)
    rb.records.push_back(rnd.rec());
  const std::string plain = frame_of(rb);
  for (auto a : {protocol::compression_algorithm::lz4, protocol::compression_algorithm::zstd}) {
    auto c = protocol::compress_batch(plain, a, protocol::levels_of(a).fallback);
    if (!c.ok())
      std::abort();
    put("fuzz_decode", "compressed_batch-" + std::string{protocol::to_string(a)}, c.value().substr(4));
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_seeds CORPUS_DIR CONFIG_EXAMPLES_DIR\n");
    return 2;
  }
  root = argv[1];

  // Protocol: every message type at its minimum and a few random ones.
  protocol::samples::random_messages rnd{20261204};
  std::vector<protocol::message> msgs = protocol::samples::min_messages();
  for (std::size_t i = 0; i < 2 * std::variant_size_v<protocol::message>; ++i)
    msgs.push_back(rnd.make(i));
  std::string stream;
  int n = 0;
  for (const auto& m : msgs) {
    std::string f = frame_of(m);
    if (f.size() > 16 * 1024)
      continue; // keep seeds small
    const std::string name = std::string{protocol::frame_type_name(protocol::type_of(m))} + "-" + std::to_string(n++);
    put("fuzz_decode", name, f.substr(4));
    if (protocol::type_of(m) == protocol::frame_type::record_batch)
      put("fuzz_record_batch", name, f.substr(5));
    if (stream.size() < 4096)
      stream += f;
  }
  put_compressed_batches(rnd);

  // frame_reader: the stream comes first; its parameters are read from the input's last bytes.
  put("fuzz_frame_reader", "session", stream + std::string("\x03\x07\x01\x10\x00\x10", 6));
  put("fuzz_frame_reader", "oversized", std::string("\xff\xff\xff\x7f\x02", 5) + std::string("\x00\x01", 2));

  // Journal records: plain (flag 0) and with the harness sealing them (flag 1).
  std::string segment;
  for (int i = 1; i <= 6; ++i) {
    std::string rec;
    journal::encode_record(journal_record(i), rec);
    put("fuzz_journal_record", "record-" + std::to_string(i), std::string(1, '\0') + rec);
    put("fuzz_journal_record", "sealed-" + std::to_string(i), std::string(1, '\1') + rec);
    segment += rec;
  }
  // Recovery: record bytes first (chunks), parameters at the end of the input.
  put("fuzz_journal_recovery", "records", segment + std::string("\x03\x01\x06\x01\x00", 5));
  put("fuzz_journal_recovery", "torn-tail", segment.substr(0, segment.size() - 9) + std::string("\x01\x01\x01", 3));

  // Config: the shipped examples and the normalized default.
  for (const auto& e : fs::directory_iterator(argv[2])) {
    std::ifstream f(e.path(), std::ios::binary);
    put("fuzz_config", e.path().filename().string(), std::string(std::istreambuf_iterator<char>(f), {}));
  }
  put("fuzz_config", "default", config::to_json(config::default_config("fuzz-host")).dump(2));

  // HTTP requests the admin listener serves (the harness reads its parameters from the end).
  put("fuzz_http_request", "status", std::string("GET /status HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n") + "\x01");
  put("fuzz_http_request", "metrics", std::string("GET /metrics?x=1 HTTP/1.0\r\n\r\n") + "\x02\x05\x00");
  put("fuzz_http_request", "bare-lf", std::string("GET /status HTTP/1.1\nUser-Agent: nc\n\n") + "\x01");

  // Bookmark files.
  client::bookmark b;
  b.advance("node-a", 42);
  b.advance("node b%", 7);
  b.advance_publisher("pub-1", 9);
  put("fuzz_bookmark", "three-entries", client::format_bookmark_file(b));
  put("fuzz_bookmark", "empty", client::format_bookmark_file(client::bookmark{}));

  // Publish store: a real messages.log (appends, an ack, a refusal), then the mode byte 0 at the end.
  {
    const std::string dir = tandem::fuzz::scratch_dir();
    client::file_store_options o;
    o.sync = false;
    {
      auto s = client::file_publish_store::open(dir, o);
      if (!s.store)
        return 1;
      for (std::uint64_t seq = 1; seq <= 5; ++seq)
        (void)s.store->append(seq, "orders/" + std::to_string(seq), std::string(seq * 3, 'm'));
      s.store->ack_through(2);
      s.store->refuse(4);
      s.store->mark_persisted(3); // protocol 1.2: acked partially, kept through the next ack
      s.store->ack_through(5);
      s.store->complete(1, 3);
    }
    std::ifstream f(dir + "/messages.log", std::ios::binary);
    std::string log(std::istreambuf_iterator<char>(f), {});
    put("fuzz_publish_store", "messages-log", log + std::string(1, '\0'));
    put("fuzz_publish_store", "sealed-records", std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x02\x03", 10) + "\x03");
  }
  std::printf("seed corpora written under %s\n", root.c_str());
  return 0;
}
