// The durable publish store's recovery (client/file_publish_store.hpp) over an arbitrary
// messages.log. The first input byte chooses whether the harness writes the magic itself (so the
// fuzzer starts inside the records) and whether each chunk is given a correct checksum.
// Properties: open() either fails with a reason or recovers a store that takes a new message
// above last_seq(), and reopening then recovers the same held messages plus the new one.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "client/file_publish_store.hpp"
#include "journal/crc32c.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace tandem::client;

namespace {

// A store record: crc:u32 length:u32 type:u8 body, the crc covering length, type and body.
std::string sealed_record(std::uint8_t type, const std::string& body) {
  std::string r(9, '\0');
  tandem::fuzz::put_u32(r, 4, static_cast<std::uint32_t>(body.size()));
  r[8] = static_cast<char>(type);
  r += body;
  tandem::fuzz::put_u32(r, 0, tandem::journal::crc32c::mask(tandem::journal::crc32c::value(r.data() + 4, r.size() - 4)));
  return r;
}

std::map<std::uint64_t, std::string> held(const file_publish_store& s) {
  std::map<std::uint64_t, std::string> out;
  for (const auto& [seq, m] : s.held())
    out[seq] = m.topic + '\0' + m.payload + (m.persisted ? "\1" : "");
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string& dir = tandem::fuzz::scratch_dir();
  tandem::fuzz::clear_dir(dir);
  const std::uint8_t how = in.ConsumeIntegral<std::uint8_t>();
  std::string file = (how & 1) ? std::string(file_publish_store::magic, file_publish_store::magic_bytes) : "";
  if (how & 2) {
    while (in.remaining_bytes() > 0) {
      const std::uint8_t type = in.ConsumeIntegralInRange<std::uint8_t>(0, 5);
      file += sealed_record(type, in.ConsumeRandomLengthString(64));
    }
  } else {
    file += in.ConsumeRemainingBytesAsString();
  }
  {
    std::ofstream f(dir + "/messages.log", std::ios::binary | std::ios::trunc);
    f.write(file.data(), static_cast<std::streamsize>(file.size()));
  }

  file_store_options opts;
  opts.sync = false;
  std::map<std::uint64_t, std::string> expect;
  {
    auto opened = file_publish_store::open(dir, opts);
    if (!opened.store) {
      FUZZ_CHECK(opened.error.has_value(), "open failed without saying why");
      return 0;
    }
    auto& s = *opened.store;
    for (const auto& [seq, m] : s.held())
      // A message marked persisted (acked partially, protocol 1.2) may sit below acked_through.
      FUZZ_CHECK((seq > s.acked_through() || m.persisted) && seq <= s.last_seq(),
                 "a held message outside (acked, last] that is not marked persisted");
    if (s.last_seq() == UINT64_MAX)
      return 0;
    const std::uint64_t seq = s.last_seq() + 1;
    auto st = s.append(seq, "fuzz/topic", "payload");
    if (st)
      return 0; // full / too large under the default limits: refused with a reason
    expect = held(s);
  }
  auto reopened = file_publish_store::open(dir, opts);
  FUZZ_CHECK(reopened.store != nullptr, "a recovered store that took an append does not reopen");
  FUZZ_CHECK(held(*reopened.store) == expect, "reopen changed the held messages");
  return 0;
}
