# Man page, documentation and the Debian package (issue #13).
#
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr -DSRXE_BUILD_TESTS=OFF
#   cmake --build build -j2 && (cd build && cpack -G DEB)
#
# gives srxe_<version>_<arch>.deb.  The prefix must be /usr: srxe has its
# install paths compiled in (srxed in <prefix>/sbin, srxe's librdmacm in
# SRXE_RDMACM_DIR), so a package is only right for the prefix it was
# configured with; cpack refuses any other (cmake/cpack_checks.cmake).
# The provider directory and /etc/libibverbs.d are libibverbs' own and
# absolute whatever the prefix.

# srxe(1), gzipped as Debian installs man pages (-n: no name or time in the
# header, so the same source gives the same bytes).
find_program(SRXE_GZIP gzip REQUIRED)
set(SRXE_MAN_SRC ${CMAKE_SOURCE_DIR}/docs/man/srxe.1)
set(SRXE_MAN_GZ ${CMAKE_BINARY_DIR}/man/srxe.1.gz)
configure_file(${SRXE_MAN_SRC} ${CMAKE_BINARY_DIR}/man/srxe.1 @ONLY)
add_custom_command(OUTPUT ${SRXE_MAN_GZ}
  COMMAND ${SRXE_GZIP} -9n -c ${CMAKE_BINARY_DIR}/man/srxe.1 > ${SRXE_MAN_GZ}
  DEPENDS ${CMAKE_BINARY_DIR}/man/srxe.1
  COMMENT "srxe.1.gz")
add_custom_target(srxe_man ALL DEPENDS ${SRXE_MAN_GZ})
install(FILES ${SRXE_MAN_GZ} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# User documentation: README and docs/*.md (plans of past issues stay in
# the source tree only).
file(GLOB SRXE_DOCS ${CMAKE_SOURCE_DIR}/docs/*.md)
list(FILTER SRXE_DOCS EXCLUDE REGEX "/plan-[^/]*\\.md$")
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${SRXE_DOCS}
        ${CMAKE_SOURCE_DIR}/cmake/deb/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME srxe)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "srxe")
set(CPACK_PACKAGE_CONTACT "srxe maintainers <srxe@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "user-space soft-RoCE: libibverbs provider, daemon and CLI")
set(CPACK_PACKAGE_DESCRIPTION
"srxe is a software RDMA NIC (RoCEv2) that runs in user space: the daemon
srxed serves each device, the libibverbs provider libsrxe-rdmav34.so lets
unmodified verbs programs use it, and srxe's own librdmacm (in a private
directory, never over the system's) serves rdma_cm programs. No RDMA kernel
module is needed: `srxe up` as root, then `srxe exec -- CMD`.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # srxe_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Run-time libraries from the binaries themselves (libc6, libibverbs1);
# ibverbs-providers is not needed, srxe is its own provider.  The tools
# every example and docs/ci.md use are recommended.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON) # as Debian ships binaries
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ibverbs-utils")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "perftest, rdmacm-utils")
# prerm takes the devices of the package's srxed down before the files go
# (cmake/deb/prerm).  srxe.driver is deliberately not a
# conffile: kept after `apt-get remove`, it would make every libibverbs
# program warn about a provider that is gone.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/cmake/deb/prerm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_SOURCE_DIR}/cmake/cpack_checks.cmake)
set(CPACK_SRXE_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
include(CPack)
