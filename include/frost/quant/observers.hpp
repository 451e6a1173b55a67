#pragma once
// Every observer, in one include:
//
//   MinMaxObserver, MovingAverageMinMaxObserver,
//   PerChannelMinMaxObserver, MovingAveragePerChannelMinMaxObserver   quant/minmax_observer.hpp
//   HistogramObserver (PyTorch's L2 range search)                      quant/histogram_observer.hpp
//   EntropyObserver (TensorRT's KL-divergence threshold)               quant/entropy_observer.hpp
//   PercentileObserver quant/percentile_observer.hpp
//
// The base class, ObserverOptions and observer_factory are in quant/observer.hpp; the range to
// (scale, zero_point) rule, including empty / constant / all-zero / non-finite input, is in
// quant/qparams.hpp.

#include "frost/quant/entropy_observer.hpp"
#include "frost/quant/histogram_observer.hpp"
#include "frost/quant/minmax_observer.hpp"
#include "frost/quant/observer.hpp"
#include "frost/quant/percentile_observer.hpp"
