/* mproc_capi_test [group...]: the C ABI tests, written in C against mproc.h and libmproc.so. */
#include "tests.h"

int main(int argc, char **argv) {
  /* The shm tracker's socket lives as long as the process: start the tracker before the per-test
   * descriptor snapshots, so that the first test to create a segment is not blamed for it. */
  mproc_shm_t *warm_up = NULL;
  if (mproc_shm_create(NULL, 1, &warm_up) == 0) {
    mproc_shm_unlink(warm_up);
    mproc_shm_destroy(warm_up);
  }
  const test_group groups[] = {errors_group, log_group,         process_group,
                               bad_input_group, shm_group,     pool_group,
                               pool_faults_group, pool_bad_input_group, old_names_group};
  return harness_main(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
