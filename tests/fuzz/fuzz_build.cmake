# Included by the top-level CMakeLists.txt when SRXE_FUZZ=ON: a build tree
# of libFuzzer targets only.  Everything they link is compiled with
# coverage instrumentation for libFuzzer plus ASan and UBSan; the
# provider, perftest and the other tests are not built here.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SRXE_FUZZ=ON needs clang (libFuzzer): "
                      "cmake -DCMAKE_C_COMPILER=clang ...")
endif()
# -Wno-unknown-warning-option: the project's GCC-only -Wno-format-truncation.
add_compile_options(-Wno-unknown-warning-option
                    -fsanitize=fuzzer-no-link,address,undefined
                    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
add_link_options(-fsanitize=address,undefined)
add_subdirectory(kernel-shim)
add_subdirectory(tests/fuzz)
