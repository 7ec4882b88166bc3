# libsystemd (Debian libsystemd-dev) for sd_notify in tandemd: readiness, watchdog pings and
# STOPPING=1 when systemd runs the node with Type=notify (packaging/tandemd.service). Optional at
# build time: without it tandemd builds, logs that it cannot notify, and the notify test is not
# registered (CI has it, so the test runs there).
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(SYSTEMD QUIET IMPORTED_TARGET GLOBAL libsystemd)
endif()
if(SYSTEMD_FOUND)
  set(TANDEM_HAVE_LIBSYSTEMD ON)
  message(STATUS "libsystemd ${SYSTEMD_VERSION}: tandemd speaks sd_notify")
else()
  set(TANDEM_HAVE_LIBSYSTEMD OFF)
  message(WARNING "libsystemd not found (apt-get install libsystemd-dev): tandemd built without sd_notify")
endif()
