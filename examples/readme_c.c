#include <mproc.h>
#include <stdio.h>

static int work(void *user) { return *(int *)user; }

int main(void) {
  int code = 7;
  mproc_process_t *p = NULL;
  int rc = mproc_process_create(work, &code, &p);
  if (rc == 0) rc = mproc_process_start(p);
  if (rc == 0) rc = mproc_process_join(p, MPROC_WAIT_FOREVER);
  int exitcode = 0;
  if (rc == 0 && mproc_process_exitcode(p, &exitcode) == 1) printf("exit code %d\n", exitcode);
  if (rc < 0) fprintf(stderr, "%s: %s\n", mproc_err_name(rc), mproc_last_error_message());
  mproc_process_destroy(p);
  return rc < 0;
}
