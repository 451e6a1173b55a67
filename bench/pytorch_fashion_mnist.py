#!/usr/bin/python3
"""PyTorch twin of examples/fashion_mnist: the same CNN, initialisation, input normalisation,
optimizer and batch size, reading the same IDX files, so that frost's training speed can be
compared with Debian's python3-torch (CPU) on equal terms.

  bench/pytorch_fashion_mnist.py --threads 2 --batch-size 128 --benchmark 50   # images/s only
  bench/pytorch_fashion_mnist.py --threads 2 --epochs 3                        # full training
  bench/pytorch_fashion_mnist.py --evaluate model.safetensors   # test accuracy of weights saved by
                                                                # fashion_mnist --save (interop check)

The model (keep in sync with examples/fashion_mnist/main.cpp):
  conv3x3(1->32)-BN-ReLU, maxpool2, conv3x3(32->64)-BN-ReLU, maxpool2, flatten, linear(3136->10)
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set statistics (as in the frost example)


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(root, prefix):
    def find(name):
        for candidate in (os.path.join(root, name + ".gz"), os.path.join(root, name)):
            if os.path.exists(candidate):
                return candidate
        sys.exit(f"error: {os.path.join(root, name)}[.gz] not found (Debian: apt-get install dataset-fashion-mnist)")
    images = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    x = (torch.from_numpy(images.astype(np.float32) / 255.0) - MEAN) / STD
    return x.unsqueeze(1).contiguous(), torch.from_numpy(labels.astype(np.int64))


def conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def make_model():
    model = nn.Sequential(
        *conv_bn_relu(1, 32), nn.MaxPool2d(2),
        *conv_bn_relu(32, 64), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(64 * 7 * 7, 10))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def load_safetensors(path):
    """name -> tensor from a safetensors file (the format is small enough to read by hand)."""
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8, "I8": np.int8}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out


def make_optimizer(model, lr):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)


def train_step(model, opt, x, y):
    opt.zero_grad(set_to_none=True)
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    opt.step()
    return loss, logits


def evaluate(model, x, y, batch):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return 100.0 * correct / len(x)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--evaluate", metavar="FILE", help="load frost weights (safetensors) and print the test accuracy")
    p.add_argument("--benchmark", type=int, default=0, metavar="STEPS",
                   help="time STEPS training steps (after 5 warm-up steps), print images/s and exit")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.evaluate:
        model = make_model()
        state = load_safetensors(args.evaluate)
        # frost keeps BatchNorm2d's batch counter as float; torch as int64.
        state = {k: v.long() if k.endswith("num_batches_tracked") else v for k, v in state.items()}
        model.load_state_dict(state, strict=True)
        x_test, y_test = load_split(args.data, "t10k")
        print(f"{args.evaluate}: test accuracy in PyTorch {evaluate(model, x_test, y_test, 1000):.2f}%")
        return
    x_train, y_train = load_split(args.data, "train")
    model = make_model()
    opt = make_optimizer(model, args.lr)
    model.train()

    if args.benchmark:
        gen = torch.Generator().manual_seed(args.seed)
        order = torch.randperm(len(x_train), generator=gen)
        steps = args.benchmark + 5
        batches = [order[(i * args.batch_size) % (len(x_train) - args.batch_size):][:args.batch_size]
                   for i in range(steps)]
        for i, idx in enumerate(batches):
            if i == 5:
                start = time.perf_counter()
            train_step(model, opt, x_train[idx], y_train[idx])
        elapsed = time.perf_counter() - start
        print(f"pytorch {torch.__version__} threads={args.threads} batch={args.batch_size} "
              f"steps={args.benchmark}: {args.benchmark * args.batch_size / elapsed:.1f} images/s "
              f"({1000 * elapsed / args.benchmark:.2f} ms/step)")
        return

    x_test, y_test = load_split(args.data, "t10k")
    steps_per_epoch = len(x_train) // args.batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch,
                                                   pct_start=0.15, anneal_strategy="cos")
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(x_train))
        start = time.perf_counter()
        seen = correct = 0
        for step in range(steps_per_epoch):
            idx = order[step * args.batch_size:(step + 1) * args.batch_size]
            loss, logits = train_step(model, opt, x_train[idx], y_train[idx])
            schedule.step()
            seen += len(idx)
            correct += (logits.argmax(1) == y_train[idx]).sum().item()
            if step % 20 == 0 or step + 1 == steps_per_epoch:
                rate = seen / (time.perf_counter() - start)
                print(f"\repoch {epoch} {step + 1}/{steps_per_epoch} loss {loss.item():.4f} "
                      f"acc {100.0 * correct / seen:.2f}% {rate:.0f} img/s", end="", flush=True)
        elapsed = time.perf_counter() - start
        print(f"\nepoch {epoch}: test accuracy {evaluate(model, x_test, y_test, 1000):.2f}% "
              f"({elapsed:.1f} s, {seen / elapsed:.0f} images/s)")


if __name__ == "__main__":
    main()
