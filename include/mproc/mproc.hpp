// The umbrella header for mproc's C++ API.
#pragma once

#include <mproc/async_result.hpp>
#include <mproc/codec.hpp>
#include <mproc/error.hpp>
#include <mproc/log.hpp>
#include <mproc/pool.hpp>
#include <mproc/process.hpp>
#include <mproc/sync.hpp>
#include <mproc/version.h>
