# Install rule of srxe's librdmacm.so.1, included by
# providers/rdmacm/CMakeLists.txt after the library target is defined:
#   set(SRXE_RDMACM_TARGET <target>)   # default srxe_rdmacm
#   include(install.cmake)
# The library goes to a private directory (SRXE_RDMACM_DIR, default
# <libdir>/srxe/rdmacm, top-level CMakeLists.txt) that `srxe env`/`srxe exec`
# put first in LD_LIBRARY_PATH; the system librdmacm.so.1 is never replaced.
# NAMELINK_SKIP: no librdmacm.so link there that a linker could pick up
# instead of the system's.
if(NOT DEFINED SRXE_RDMACM_TARGET)
  set(SRXE_RDMACM_TARGET srxe_rdmacm)
endif()
install(TARGETS ${SRXE_RDMACM_TARGET}
        LIBRARY DESTINATION ${SRXE_RDMACM_DIR} NAMELINK_SKIP)
