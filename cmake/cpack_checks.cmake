# Read by cpack (CPACK_PROJECT_CONFIG_FILE) before it packs: a .deb of a
# tree configured for another prefix would hold an srxe that looks for
# srxed and its librdmacm where the package does not put them.
if(CPACK_GENERATOR STREQUAL "DEB" AND
   NOT CPACK_SRXE_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR
    "srxe: this build tree is configured with CMAKE_INSTALL_PREFIX="
    "${CPACK_SRXE_INSTALL_PREFIX}; a Debian package needs "
    "-DCMAKE_INSTALL_PREFIX=/usr (srxe has its install paths compiled in)")
endif()
