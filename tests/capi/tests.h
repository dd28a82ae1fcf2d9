/* The test groups of mproc_capi_test and the children they share. */
#ifndef MPROC_CAPI_TESTS_H
#define MPROC_CAPI_TESTS_H

#include "harness.h"
#include "mproc.h"

extern const test_group errors_group;
extern const test_group log_group;
extern const test_group process_group;
extern const test_group bad_input_group;
extern const test_group shm_group;
extern const test_group pool_group;
extern const test_group pool_faults_group;
extern const test_group pool_bad_input_group;
extern const test_group old_names_group;

/* A child body: returns *(int *)user_data, or 0 when user_data is NULL. */
int test_return_code(void *user_data);

/* A pipe that holds a child until the parent releases it (no sleeps: the child blocks in read). */
typedef struct {
  int read_fd;
  int write_fd;
} gate;

/* Returns 0, or -1 after recording a failed check. */
int gate_open(gate *g);
/* Closes the parent's write end: every child blocked on the gate returns from read. */
void gate_release(gate *g);
/* Closes whatever of the pipe the parent still holds. */
void gate_close(gate *g);
/* A child body: user_data is a gate*; blocks until the gate is released, then returns 0. */
int test_wait_on_gate(void *user_data);

/* Creates and starts a process running fn(user_data); NULL (after a failed check) on failure. */
mproc_process_t *start_process(mproc_process_fn fn, void *user_data);

#endif /* MPROC_CAPI_TESTS_H */
