/* SPDX-License-Identifier: MIT */
/*
 * The libFuzzer entry points every fuzz target defines.  libFuzzer's main
 * (clang, -fsanitize=fuzzer) or replay_main.c (any compiler) calls them:
 * LLVMFuzzerInitialize once, then LLVMFuzzerTestOneInput per input, which
 * must return 0 and must not keep anything from one input to the next
 * that changes how the next one runs.
 */
#ifndef SRXE_FUZZ_ENTRY_H
#define SRXE_FUZZ_ENTRY_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
