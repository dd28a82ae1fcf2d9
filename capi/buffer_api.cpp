// Buffers the library hands out through the C ABI are allocated with malloc and released here.
#include "mproc.h"

#include <cstdlib>

extern "C" void mproc_buffer_free(void* buffer) { std::free(buffer); }
