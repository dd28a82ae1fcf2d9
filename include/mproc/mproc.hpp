// The umbrella header for mproc's C++ API. (Not included: <mproc/cereal_codec.hpp>, the opt-in
// cereal codec, which needs cereal's headers.)
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/async_result.hpp>
#include <mproc/codec.hpp>
#include <mproc/connection.hpp>
#include <mproc/listener.hpp>
#include <mproc/error.hpp>
#include <mproc/log.hpp>
#include <mproc/manager.hpp>
#include <mproc/pool.hpp>
#include <mproc/process.hpp>
#include <mproc/sync.hpp>
#include <mproc/queue.hpp>
#include <mproc/shared_ctypes.hpp>
#include <mproc/shared_memory.hpp>
#include <mproc/version.h>
