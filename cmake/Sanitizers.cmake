# MPROC_SANITIZE=ON builds everything with AddressSanitizer and UndefinedBehaviorSanitizer, and
# makes any UB report fatal so that the test suite fails on it.
if(MPROC_SANITIZE)
  set(MPROC_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
                            -fno-omit-frame-pointer)
  add_compile_options(${MPROC_SANITIZER_FLAGS})
  add_link_options(${MPROC_SANITIZER_FLAGS})
endif()
