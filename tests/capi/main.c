/* mproc_capi_test [group...]: the C ABI tests, written in C against mproc.h and libmproc.so. */
#include "tests.h"

int main(int argc, char **argv) {
  const test_group groups[] = {errors_group, log_group, process_group, bad_input_group, pool_group,
                                pool_faults_group, pool_bad_input_group};
  return harness_main(argc, argv, groups, sizeof groups / sizeof groups[0]);
}
