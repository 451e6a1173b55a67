#!/usr/bin/env python3
"""PyTorch's side of bench/compare_quant.sh: the Fashion-MNIST CNN of examples/fashion_mnist
(conv3x3(1->32)-BN-ReLU, maxpool 2, conv3x3(32->64)-BN-ReLU, maxpool 2, flatten, linear(3136->10))
on one thread, timed as bench/int8_model.cpp times frost:

  fp32_b1_us          batch-1 inference, eval, torch.no_grad
  int8_b1_us          eager-mode static quantization (fuse_modules, prepare, calibrate on random
                      N(0, 1) batches, convert) with the fastest quantized engine installed
                      (onednn, else fbgemm, else qnnpack; the one used is printed)
  float_step_ms       a training step at batch 128: SGD (momentum 0.9, nesterov, wd 5e-4)
  qat_step_ms         the same step after prepare_qat (get_default_qat_qconfig of the engine)
  fq_ns_per_element   torch.fake_quantize_per_tensor_affine on 1e6 / 1e7 floats, forward and
                      forward+backward

Prints one line per figure, "name value", medians of --repeats runs.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.ao.quantization as tq


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


class Quantized(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.quant, self.body, self.dequant = tq.QuantStub(), body, tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.body(self.quant(x)))


FUSE = [["body.0", "body.1", "body.2"], ["body.4", "body.5", "body.6"]]


def median_time(fn, seconds, repeats):
    """Median over `repeats` runs of the mean time of one call, each run about `seconds` long."""
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(seconds / one))
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t0) / n)
    return statistics.median(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    engines = torch.backends.quantized.supported_engines
    engine = next(e for e in ("onednn", "fbgemm", "qnnpack") if e in engines)
    torch.backends.quantized.engine = engine
    print(f"engine {engine} (supported: {' '.join(e for e in engines if e != 'none')}); "
          f"torch {torch.__version__}; threads {torch.get_num_threads()}")

    g = torch.Generator().manual_seed(1)
    image = torch.randn(1, 1, 28, 28, generator=g)

    fp32 = make_model().eval()
    with torch.no_grad():
        print("fp32_b1_us", median_time(lambda: fp32(image), args.seconds, args.repeats) * 1e6)

    model = Quantized(make_model()).eval()
    tq.fuse_modules(model, FUSE, inplace=True)
    model.qconfig = tq.get_default_qconfig(engine)
    tq.prepare(model, inplace=True)
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(32, 1, 28, 28, generator=g))
    tq.convert(model, inplace=True)
    with torch.no_grad():
        print("int8_b1_us", median_time(lambda: model(image), args.seconds, args.repeats) * 1e6)

    images = torch.randn(128, 1, 28, 28, generator=g)
    labels = torch.randint(0, 10, (128,), generator=g)

    def trainer(qat):
        m = Quantized(make_model()) if qat else make_model()
        m.train()
        if qat:
            tq.fuse_modules_qat(m, FUSE, inplace=True)
            m.qconfig = tq.get_default_qat_qconfig(engine)
            tq.prepare_qat(m, inplace=True)
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4,
                              nesterov=True)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(m(images), labels).backward()
            opt.step()
        return step

    float_step, qat_step = trainer(False), trainer(True)
    print("float_step_ms", median_time(float_step, args.seconds * 2, args.repeats) * 1e3)
    print("qat_step_ms", median_time(qat_step, args.seconds * 2, args.repeats) * 1e3)

    for n in (1_000_000, 10_000_000):
        x = torch.randn(n, generator=g)
        scale, zp = 5.0 / 255.0, 128
        t = median_time(lambda: torch.fake_quantize_per_tensor_affine(x, scale, zp, 0, 255),
                        args.seconds, args.repeats)
        print(f"fq_forward_ns_per_element/{n}", t / n * 1e9)
        xg = x.clone().requires_grad_()
        ones = torch.ones(n)

        def fwd_bwd():
            y = torch.fake_quantize_per_tensor_affine(xg, scale, zp, 0, 255)
            y.backward(ones)
            xg.grad = None
        t = median_time(fwd_bwd, args.seconds, args.repeats)
        print(f"fq_forward_backward_ns_per_element/{n}", t / n * 1e9)


if __name__ == "__main__":
    main()
