/* A C program built against the *installed* mproc with `pkg-config --cflags --libs mproc` only:
 * the headers must compile as C11, and the library must be the one the headers describe. */
#include <mproc.h>

#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "consumer.c:%d: check failed: %s (last error: %s)\n", __LINE__, \
              #cond, mproc_last_error_message());                                     \
      return 1;                                                                       \
    }                                                                                 \
  } while (0)

static int child_body(void *user_data) { return *(const int *)user_data; }

int main(void) {
  /* The run-time library and the compile-time header agree. */
  CHECK(mproc_version() == MPROC_VERSION_HEX);
  CHECK(strcmp(mproc_version_string(), MPROC_VERSION_STRING) == 0);

  /* A child runs child_body on its copy of `code` and exits with it. */
  int code = 42;
  mproc_process_t *process = NULL;
  CHECK(mproc_process_create(child_body, &code, &process) == 0);
  CHECK(mproc_process_start(process) == 0);
  CHECK(mproc_process_join(process, 60000) == 0); /* bounded: a hang fails, not blocks */
  int exitcode = -1;
  CHECK(mproc_process_exitcode(process, &exitcode) == 1);
  CHECK(exitcode == 42);
  CHECK(mproc_process_destroy(process) == 0);

  /* Errors come back as codes with a message, never as a crash. */
  CHECK(mproc_process_destroy(process) == MPROC_EBADHANDLE);
  CHECK(strcmp(mproc_err_name(MPROC_EBADHANDLE), "MPROC_EBADHANDLE") == 0);
  CHECK(mproc_last_error_message()[0] != '\0');

  printf("C consumer OK: mproc %s, child exit code %d\n", mproc_version_string(), exitcode);
  return 0;
}
