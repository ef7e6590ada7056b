// SPDX-License-Identifier: MIT
/*
 * Stand-in for libFuzzer's main() in ordinary (gcc, optionally ASan/UBSan)
 * builds: runs LLVMFuzzerTestOneInput() once on every file named on the
 * command line and every regular file inside a named directory, so that
 * ctest replays the corpus under tests/fuzz/corpus/ without clang.
 *
 * Exit status: 0 when every input ran (a crash or sanitizer report ends
 * the process before that), 1 when an argument cannot be read or names
 * no input at all -- an empty corpus must not pass silently.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_entry.h"

/* Optional in a target, as with libFuzzer. */
#pragma weak LLVMFuzzerInitialize

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "replay: %s: cannot size it\n", path);
		fclose(f);
		return -1;
	}
	/* Exactly len bytes: ASan then catches reads past the input. */
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "replay: %s: read failed\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order (reproducible runs). */
static int run_dir(const char *dir, unsigned long *count)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, NULL);
	int ret = 0;

	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	qsort(list, (size_t)n, sizeof(*list), by_name);
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (!ret && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			ret = run_file(path);
			(*count)++;
		}
		free(list[i]);
	}
	free(list);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int ret;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
				strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			ret = run_dir(argv[i], &count);
		} else {
			ret = run_file(argv[i]);
			count++;
		}
		if (ret)
			return 1;
	}
	if (!count) {
		fprintf(stderr, "replay: no input files\n");
		return 1;
	}
	printf("replay: %lu inputs, no crash\n", count);
	return 0;
}
