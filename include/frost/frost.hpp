#pragma once
// The one header users include.

#include "frost/config.hpp"
#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/core/rng.hpp"
