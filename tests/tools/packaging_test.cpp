// The Debian package and the systemd units (issue 21, part 2): cpack builds the .deb from this
// build tree, dpkg-deb lists what an operator gets, lintian finds no errors, systemd-analyze
// accepts both units. cmake/Packaging.cmake and packaging/ are what is tested.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include <doctest/doctest.h>

#include "tests/support/process.hpp"

using namespace tandem::test;
namespace fs = std::filesystem;

namespace {

std::string packaging_file(const std::string& name) {
  return std::string{TANDEM_SOURCE_DIR} + "/packaging/" + name;
}

// Builds the package into `dir` (cpack over this build tree); its path, or "" (reported).
std::string build_deb(const temp_dir& dir) {
  auto r = run({TANDEM_CPACK, "-G", "DEB", "--config", std::string{TANDEM_BINARY_DIR} + "/CPackConfig.cmake", "-B",
                dir.path()},
               dir.path(), 300s);
  INFO("cpack stdout: " << r.out << "\ncpack stderr: " << r.err);
  CHECK(r.exit_code == 0);
  for (const auto& e : fs::directory_iterator(dir.path()))
    if (e.path().extension() == ".deb")
      return e.path().string();
  FAIL_CHECK("cpack made no .deb");
  return {};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

// The unit file with ExecStart pointing at the built tandemd (verify checks that it exists).
std::string unit_for_verify(const std::string& unit, const temp_dir& dir) {
  auto text = read_file(packaging_file(unit));
  const std::string packaged = "/usr/bin/tandemd";
  for (auto at = text.find(packaged); at != std::string::npos; at = text.find(packaged, at))
    text.replace(at, packaged.size(), tandemd_path());
  write_file(dir / unit, text);
  return dir / unit;
}

} // namespace

TEST_CASE("package: cpack builds a .deb with the binaries, config, data dir, units, man pages and docs; lintian finds no errors") {
  temp_dir dir;
  auto deb = build_deb(dir);
  REQUIRE_FALSE(deb.empty());
  auto listing = run({TANDEM_DPKG_DEB, "-c", deb});
  REQUIRE(listing.exit_code == 0);
  const char* expected[] = {
    "./usr/bin/tandemd", "./usr/bin/tandem", "./etc/tandem/tandemd.json", "./var/lib/tandem/",
    "./lib/systemd/system/tandemd.service", "./lib/systemd/system/tandemd@.service",
    "./usr/share/man/man1/tandemd.1.gz", "./usr/share/man/man1/tandem.1.gz", "./usr/share/doc/tandem/copyright",
    "./usr/share/doc/tandem/changelog.Debian.gz"};
  auto lines = lines_of(listing.out);
  for (const char* path : expected) {
    CAPTURE(path);
    CHECK(std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.size() >= std::string{path}.size() && l.compare(l.size() - std::string{path}.size(), std::string::npos, path) == 0;
    }));
  }
  auto control = run({TANDEM_DPKG_DEB, "-f", deb, "Package", "Version", "Depends"});
  CHECK(control.out.find("Package: tandem") != std::string::npos);
  CHECK(control.out.find("Version: 0.1.0-1") != std::string::npos);
  CHECK(control.out.find("adduser") != std::string::npos);
  CHECK(control.out.find("libc6") != std::string::npos); // from dpkg-shlibdeps

  // The maintainer scripts and the conffile list, and a man page made from --help.
  REQUIRE(run({TANDEM_DPKG_DEB, "-e", deb, dir / "control"}).exit_code == 0);
  CHECK(read_file(dir / "control/conffiles") == "/etc/tandem/tandemd.json\n");
  CHECK(read_file(dir / "control/postinst").find("adduser --system") != std::string::npos);
  REQUIRE(run({TANDEM_DPKG_DEB, "-x", deb, dir / "root"}).exit_code == 0);
  auto man = run({TANDEM_GZIP, "-dc", dir / "root/usr/share/man/man1/tandemd.1.gz"});
  CHECK(man.out.rfind(".TH TANDEMD 1", 0) == 0);
  CHECK(man.out.find("\\-\\-check\\-config FILE") != std::string::npos);

  // lintian: no errors (E:); the warnings accepted are listed in README, "Packaging".
  auto r = run({TANDEM_LINTIAN, "--tag-display-limit", "0", deb}, dir.path(), 600s);
  MESSAGE("lintian (exit " << r.exit_code << "):\n" << r.out << r.err);
  for (const auto& line : lines_of(r.out)) {
    CAPTURE(line);
    CHECK(line.rfind("E:", 0) != 0);
  }
  CHECK(r.exit_code == 0); // lintian fails on errors only
}

TEST_CASE("package: the shipped config is valid and keeps its data in /var/lib/tandem") {
  auto r = run({tandemd_path(), "--check-config", packaging_file("tandemd.json")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("\"data_dir\": \"/var/lib/tandem\"") != std::string::npos);
}

TEST_CASE("units: systemd-analyze verify accepts tandemd.service and tandemd@.service") {
  temp_dir dir;
  for (const std::string unit : {"tandemd.service", "tandemd@.service"}) {
    auto path = unit_for_verify(unit, dir);
    // A template is verified through an instance of it.
    auto target = unit == "tandemd@.service" ? dir / "tandemd@a.service" : path;
    auto r = run({TANDEM_SYSTEMD_ANALYZE, "verify", "--man=no", target}, dir.path(), 60s);
    CAPTURE(unit);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty()); // unknown keys and bad values are only warnings: none allowed
    auto text = read_file(path);
    for (const char* key : {"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "User=tandem",
                            "ProtectSystem=strict", "ReadWritePaths=/var/lib/tandem", "NoNewPrivileges=yes",
                            "PrivateTmp=yes", "ProtectHome=yes"})
      CHECK_MESSAGE(text.find(key) != std::string::npos, key);
  }
}
