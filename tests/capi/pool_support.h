/* Tasks and pipes shared by the pool tests. Workers are forks, so the pipes are created before
 * the pool: every worker (and every replacement) inherits them. No sleeps: a blocking task waits
 * on a gate pipe the test writes to, and reports its pid through another pipe first. */
#ifndef MPROC_CAPI_POOL_SUPPORT_H
#define MPROC_CAPI_POOL_SUPPORT_H

#include "tests.h"

typedef struct {
  int gate[2];   /* a blocking task reads one byte from gate[0] */
  int report[2]; /* a blocking task writes its pid to report[1] first */
} task_pipes;

/* Returns 0, or -1 after recording a failed check. */
int pipes_open(task_pipes *p);
void pipes_close(task_pipes *p);
/* Lets n blocked (or future) tasks pass. */
void pipes_release(task_pipes *p, int n);
/* Waits (bounded) for a blocking task to report; returns its worker's pid, or -1. */
int pipes_wait_started(task_pipes *p);

/* Output: the input reversed. */
int task_reverse(const void *input, size_t len, void *user_data, mproc_task_result_t *result);
/* Fails through mproc_task_result_fail with "bad input: <input>". */
int task_fail(const void *input, size_t len, void *user_data, mproc_task_result_t *result);
/* Returns 7 without a message. */
int task_return_7(const void *input, size_t len, void *user_data, mproc_task_result_t *result);
/* Output: the worker's pid (an int). */
int task_pid(const void *input, size_t len, void *user_data, mproc_task_result_t *result);
/* user_data: task_pipes*. Reports its pid, waits at the gate, then echoes the input. */
int task_block(const void *input, size_t len, void *user_data, mproc_task_result_t *result);
/* As task_block when the input starts with 'b', else as an echo. */
int task_block_if_b(const void *input, size_t len, void *user_data, mproc_task_result_t *result);

/* A pool of `processes` workers with default options; NULL after a failed check. */
mproc_pool_t *make_pool(int processes);
/* Checks that the future resolves with `expected` (a NUL-terminated string). */
void check_output(mproc_future_t *future, const char *expected);
/* mproc_future_get's code, freeing any output. */
int get_code(mproc_future_t *future);
/* close + join + destroy, checked. */
void finish_pool(mproc_pool_t *pool);

#endif /* MPROC_CAPI_POOL_SUPPORT_H */
