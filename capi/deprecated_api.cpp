// The old names of renamed C functions (CHANGELOG.md, "Changed"): each calls its new name, so
// programs written against an older 0.x header still build and link. Declared deprecated in the
// topic headers; removed no sooner than the next major version.
#include "mproc.h"

extern "C" {

int mproc_start_forkserver(void) { return mproc_forkserver_start(); }
int mproc_stop_forkserver(void) { return mproc_forkserver_stop(); }
int mproc_log_get_level(void) { return mproc_log_level(); }
int mproc_process_get_name(mproc_process_t* process, char* buf, size_t size) {
  return mproc_process_name(process, buf, size);
}
int mproc_semaphore_get_value(mproc_semaphore_t* semaphore) {
  return mproc_semaphore_value(semaphore);
}
int mproc_connection_get_max_message_size(mproc_connection_t* c, uint64_t* out) {
  return mproc_connection_max_message_size(c, out);
}

}  // extern "C"
