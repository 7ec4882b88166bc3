# The Debian package (README, "Packaging"): `cmake --build build --target tandem_man && cd build &&
# cpack -G DEB` builds build/tandem_<version>_<arch>.deb with
#   /usr/bin/tandemd, /usr/bin/tandem, their man pages (generated from --help: cmake/HelpToMan.cmake),
#   /etc/tandem/tandemd.json (a conffile: one node, data in /var/lib/tandem, loopback listeners),
#   /var/lib/tandem (owned by the `tandem` system user that postinst creates),
#   /lib/systemd/system/tandemd.service and tandemd@.service (packaging/), and
#   /usr/share/doc/tandem/{copyright,changelog.Debian.gz}.
# A package for release: configure with -DTANDEM_TEST_HOOKS=OFF (no test-only fault hooks).
# tests/packaging/ builds it and checks it with dpkg-deb, lintian and systemd-analyze.
set(TANDEM_DEB_RELEASE 1)
set(TANDEM_DEB_VERSION "${PROJECT_VERSION}-${TANDEM_DEB_RELEASE}")
set(_pkg ${PROJECT_SOURCE_DIR}/packaging)
set(_gen ${CMAKE_BINARY_DIR}/packaging)

# Man pages from --help, and the gzipped Debian changelog, at build time.
set(_man_pages)
foreach(prog tandemd tandem)
  if(prog STREQUAL "tandemd")
    set(_summary "Tandem message replication node")
    set(_see "tandem(1)")
  else()
    set(_summary "Tandem command-line client: publish, subscribe, status")
    set(_see "tandemd(1)")
  endif()
  add_custom_command(OUTPUT ${_gen}/${prog}.1.gz
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${prog}> -DNAME=${prog} "-DSUMMARY=${_summary}"
            -DVERSION=${PROJECT_VERSION} "-DSEE_ALSO=${_see}" -DOUT=${_gen}/${prog}.1
            -P ${PROJECT_SOURCE_DIR}/cmake/HelpToMan.cmake
    DEPENDS ${prog} ${PROJECT_SOURCE_DIR}/cmake/HelpToMan.cmake
    COMMENT "man page ${prog}.1 from ${prog} --help" VERBATIM)
  list(APPEND _man_pages ${_gen}/${prog}.1.gz)
endforeach()
configure_file(${_pkg}/changelog.in ${_gen}/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${_gen}/changelog.Debian.gz
  COMMAND gzip -9nc ${_gen}/changelog.Debian > ${_gen}/changelog.Debian.gz
  DEPENDS ${_gen}/changelog.Debian VERBATIM)
add_custom_target(tandem_man ALL DEPENDS ${_man_pages} ${_gen}/changelog.Debian.gz)

install(TARGETS tandemd tandem RUNTIME DESTINATION bin)
install(FILES ${_man_pages} DESTINATION share/man/man1)
install(FILES ${_pkg}/copyright ${_gen}/changelog.Debian.gz DESTINATION share/doc/tandem)
install(FILES ${_pkg}/tandemd.service ${_pkg}/tandemd@.service DESTINATION /lib/systemd/system)
install(FILES ${_pkg}/tandemd.json DESTINATION /etc/tandem)
install(DIRECTORY DESTINATION /var/lib/tandem)

# cpack (and `make install`) install what is built, without first building every target of the
# tree (the test suites included): build tandemd, tandem and tandem_man (all of `all`) beforehand.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tandem)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "Tandem maintainers <maintainers@users.noreply.r-seed-5c56d0f3.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "message replication engine with journaled failover")
set(CPACK_PACKAGE_DESCRIPTION "A Tandem node (tandemd) journals every message published to it\n\
and replicates it to other nodes, so that applications can fail over from\n\
one node to its partner with no message lost. The tandem command publishes,\n\
subscribes and shows a node's status.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${TANDEM_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${_pkg}/conffiles ${_pkg}/postinst ${_pkg}/prerm ${_pkg}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
