/*
 * test_tmpdir - a fresh temporary directory per cmocka test, removed with
 * everything in it afterwards: cmocka_unit_test_setup_teardown(fn,
 * test_tmpdir_setup, test_tmpdir_teardown); the test finds its path in *state.
 */
#ifndef POSTERN_TEST_TMPDIR_H
#define POSTERN_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* test_tmpdir_setup - make /tmp/postern-test.XXXXXX; its path in *state. */
static inline int test_tmpdir_setup(void **state)
{
	char *dir = strdup("/tmp/postern-test.XXXXXX");

	if (dir == NULL || mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

/* test_tmpdir_teardown - rm -rf the directory and free its path. */
static inline int test_tmpdir_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	free(*state);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
