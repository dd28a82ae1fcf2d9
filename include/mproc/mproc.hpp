// The umbrella header for mproc's C++ API.
#pragma once

#include <mproc/error.hpp>
#include <mproc/log.hpp>
#include <mproc/pool.hpp>
#include <mproc/process.hpp>
#include <mproc/version.h>
