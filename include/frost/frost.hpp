#pragma once
// The one header users include. It pulls in every public header, layer by layer in the order of
// DESIGN.md §1; internals (detail/, kernels/reference/, per-ISA kernels) come in through these.

#include "frost/config.hpp"

// core: tensors, errors, random numbers, the thread pool
#include "frost/core/error.hpp"
#include "frost/core/parallel.hpp"
#include "frost/core/print.hpp"
#include "frost/core/rng.hpp"
#include "frost/core/tensor.hpp"

// kernels: raw-pointer compute, FP32 and INT8, with run-time ISA dispatch
#include "frost/kernels/conv/conv2d.hpp"
#include "frost/kernels/dwconv/dwconv.hpp"
#include "frost/kernels/elementwise/elementwise.hpp"
#include "frost/kernels/gemm/gemm.hpp"
#include "frost/kernels/isa.hpp"
#include "frost/kernels/requantize.hpp"

// autograd
#include "frost/autograd/engine.hpp"
#include "frost/autograd/function.hpp"
#include "frost/autograd/grad_mode.hpp"
#include "frost/autograd/gradcheck.hpp"
#include "frost/autograd/op_hook.hpp"

// differentiable ops
#include "frost/ops/activation.hpp"
#include "frost/ops/batch_norm.hpp"
#include "frost/ops/conv.hpp"
#include "frost/ops/dropout.hpp"
#include "frost/ops/elementwise.hpp"
#include "frost/ops/linear.hpp"
#include "frost/ops/loss.hpp"
#include "frost/ops/matmul.hpp"
#include "frost/ops/pool.hpp"
#include "frost/ops/reduction.hpp"
#include "frost/ops/shape_ops.hpp"
#include "frost/ops/softmax.hpp"

// nn
#include "frost/nn/activation.hpp"
#include "frost/nn/batch_norm.hpp"
#include "frost/nn/conv.hpp"
#include "frost/nn/dropout.hpp"
#include "frost/nn/flatten.hpp"
#include "frost/nn/init.hpp"
#include "frost/nn/linear.hpp"
#include "frost/nn/module.hpp"
#include "frost/nn/pooling.hpp"
#include "frost/nn/sequential.hpp"
#include "frost/nn/serialize.hpp"
#include "frost/nn/trace.hpp"

// optim
#include "frost/optim/adam.hpp"
#include "frost/optim/gradboost.hpp"
#include "frost/optim/lr_scheduler.hpp"
#include "frost/optim/optimizer.hpp"
#include "frost/optim/rmsprop.hpp"
#include "frost/optim/serialize.hpp"
#include "frost/optim/sgd.hpp"
#include "frost/optim/state_dict.hpp"

// data and io
#include "frost/data/dataset.hpp"
#include "frost/data/idx.hpp"
#include "frost/data/image_folder.hpp"
#include "frost/data/image_loader.hpp"
#include "frost/data/image_transforms.hpp"
#include "frost/data/loader.hpp"
#include "frost/data/transforms.hpp"
#include "frost/io/gzip.hpp"
#include "frost/io/image.hpp"
#include "frost/io/rng_state.hpp"
#include "frost/io/safetensors.hpp"
#include "frost/io/tensor_file.hpp"

// quant: observers, fake quantization, QAT modules, prepare / calibrate / convert, StatAssist
#include "frost/quant/convert.hpp"
#include "frost/quant/fake_quantize.hpp"
#include "frost/quant/observers.hpp"
#include "frost/quant/prepare.hpp"
#include "frost/quant/qat_modules.hpp"
#include "frost/quant/qconfig.hpp"
#include "frost/quant/qparams.hpp"
#include "frost/quant/report.hpp"
#include "frost/quant/runtime.hpp"
#include "frost/quant/stat_assist.hpp"

// engine: the INT8 model and its file
#include "frost/engine/int8_model.hpp"
#include "frost/engine/serialize.hpp"

// models: FrostNet and the reference networks
#include "frost/models/alexnet.hpp"
#include "frost/models/complexity.hpp"
#include "frost/models/frostnet.hpp"
#include "frost/models/frostnet_config.hpp"
#include "frost/models/mobilenet_v2.hpp"
#include "frost/models/mobilenet_v3.hpp"
#include "frost/models/resnet.hpp"
#include "frost/models/shufflenet_v2.hpp"
#include "frost/models/vgg.hpp"
