#!/usr/bin/env python3
"""PyTorch reference for `npm run bench -- --reference pytorch`.

Builds the workbench's AlexNet from the same model config (the JSON of
core/schema/model-config.ts's presetConfig, which the bench passes in) and times it on the CPU:
a training step (forward, backward and SGD with momentum and weight decay, as the workbench
trains) and a forward pass in eval mode without gradients, on random inputs and labels. One JSON object per line on stdout.
With --device cuda it times the same on the GPU instead (bench/gpu-check.sh).

With --serve it stays up and answers requests, one JSON object per line on stdin (config, batch,
threads, kinds, expectParams, minSeconds, minReps, warmup), each with its figures and a line
{"kind": "done"}: the bench alternates our figures with these, round by round, so both sides
meet the same moments of a machine whose speed drifts.

Standalone:
  python3 bench/reference_pytorch.py --batch 128 --config "$(node -e \
    "import('./dist/core/schema/model-config.js').then(m => \
     console.log(JSON.stringify(m.presetConfig('alexnet-cifar'))))")"
"""

import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn

# Layers whose bias starts at init.bias (the paper's 1) rather than 0, as in core/model/alexnet.ts.
BIAS_ONE_LAYERS = {"conv2", "conv4", "conv5", "fc6", "fc7"}


def local_response_norm(lrn):
    """nn.LocalResponseNorm computes a / (k + alpha/n * sum a^2)^beta: it always divides alpha by
    n. The workbench's `paper` mode does not (the paper's formula), so it passes alpha * n."""
    size = lrn["size"]
    alpha = lrn["alpha"] * size if lrn["mode"] == "paper" else lrn["alpha"]
    return nn.LocalResponseNorm(size, alpha=alpha, beta=lrn["beta"], k=lrn["k"])


def init_layer(layer, name, fan_in, init):
    std = (2.0 / fan_in) ** 0.5 if init["scheme"] == "he" else init["std"]
    nn.init.normal_(layer.weight, 0.0, std)
    nn.init.constant_(layer.bias, init["bias"] if name in BIAS_ONE_LAYERS else 0.0)


def build_alexnet(config):
    """conv → ReLU → [LRN] → [max-pool] ×5, then fc6, fc7 (ReLU, dropout) and fc8 (logits)."""
    layers = []
    channels, size = 3, config["inputSize"]
    for i, conv in enumerate(config["conv"]):
        name = f"conv{i + 1}"
        groups = config["groups"] if conv["grouped"] else 1
        layer = nn.Conv2d(
            channels,
            conv["filters"],
            conv["kernel"],
            stride=conv["stride"],
            padding=conv["pad"],
            groups=groups,
        )
        init_layer(layer, name, conv["kernel"] ** 2 * channels // groups, config["init"])
        layers += [layer, nn.ReLU(inplace=True)]
        size = (size + 2 * conv["pad"] - conv["kernel"]) // conv["stride"] + 1
        if conv["lrn"] and config["lrn"]["mode"] != "off":
            layers.append(local_response_norm(config["lrn"]))
        if conv["pool"]:
            pool = config["pool"]
            layers.append(nn.MaxPool2d(pool["size"], pool["stride"]))
            size = (size - pool["size"]) // pool["stride"] + 1
        channels = conv["filters"]

    layers.append(nn.Flatten())
    fan_in = channels * size * size
    for i, units in enumerate(config["fc"]):
        layer = nn.Linear(fan_in, units)
        init_layer(layer, f"fc{i + 6}", fan_in, config["init"])
        layers += [layer, nn.ReLU(inplace=True)]
        if config["dropout"] > 0:
            layers.append(nn.Dropout(config["dropout"]))
        fan_in = units
    fc8 = nn.Linear(fan_in, config["classes"])
    init_layer(fc8, "fc8", fan_in, config["init"])
    layers.append(fc8)
    return nn.Sequential(*layers)


def timed(step, min_seconds, min_reps, warmup):
    """Median seconds per call of `step` after `warmup` calls, over at least min_seconds/min_reps."""
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(times)


def measure(model, config, batch, args, kinds=("train", "forward")):
    side = config["inputSize"]
    device = torch.device(args.device)
    # Mean-subtracted pixels are roughly N(0, 50²), as the workbench's own bench feeds them.
    x = (torch.randn(batch, 3, side, side) * 50).to(device)
    labels = torch.randint(0, config["classes"], (batch,)).to(device)
    # GPU work is queued: wait for it, so each timing covers the whole step.
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    loss_fn = nn.CrossEntropyLoss()
    # The workbench's recipe: momentum 0.9, weight decay 5e-4 (a small rate keeps random data finite).
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=5e-4)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), labels)
        loss.backward()
        optimizer.step()
        loss.item()
        sync()

    def forward():
        with torch.no_grad():
            model(x)
        sync()

    results = {}
    if "train" in kinds:
        model.train()
        results["train"] = timed(train_step, args.min_seconds, args.min_reps, args.warmup)
    if "forward" in kinds:
        model.eval()
        results["forward"] = timed(forward, args.min_seconds, args.min_reps, args.warmup)
    return results


def figure(kind, config, batch, seconds, reps):
    return json.dumps({
        "kind": kind,
        "preset": config["preset"],
        "batch": batch,
        "threads": torch.get_num_threads(),
        "imagesPerSec": round(batch / seconds, 2),
        "msPerBatch": round(seconds * 1000),
        "reps": reps,
    })


def model_line(config, model, device, default_threads):
    params = sum(p.numel() for p in model.parameters())
    return params, json.dumps({"kind": "model", "preset": config["preset"], "params": params,
                               "torch": torch.__version__, "defaultThreads": default_threads,
                               "device": device})


def serve(args, default_threads):
    """Answers timing requests from stdin until it closes; a model is built once per preset."""
    models = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        config = request["config"]
        preset = config["preset"]
        if preset not in models:
            torch.manual_seed(1)
            models[preset] = build_alexnet(config).to(args.device)
            params, text = model_line(config, models[preset], "cpu", default_threads)
            print(text, flush=True)
            expected = request.get("expectParams")
            if expected is not None and params != expected:
                sys.exit(f"parameter count {params} != expected {expected}")
        torch.set_num_threads(request["threads"])
        args.min_seconds = request.get("minSeconds", args.min_seconds)
        args.min_reps = request.get("minReps", args.min_reps)
        args.warmup = request.get("warmup", args.warmup)
        kinds = request.get("kinds", ["train", "forward"])
        batch = request["batch"]
        for kind, (seconds, reps) in measure(models[preset], config, batch, args, kinds).items():
            print(figure(kind, config, batch, seconds, reps), flush=True)
        print(json.dumps({"kind": "done"}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="model config JSON (presetConfig)")
    parser.add_argument("--batch", type=int, nargs="+")
    parser.add_argument("--serve", action="store_true",
                        help="answer timing requests on stdin (see the module's docstring)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1],
                        help="torch thread counts to measure, in turn")
    parser.add_argument("--min-seconds", type=float, default=5.0)
    parser.add_argument("--min-reps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--expect-params", type=int,
                        help="fail unless the model has exactly this many parameters")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.exit(3, f"PyTorch {torch.__version__} sees no CUDA device\n")

    default_threads = torch.get_num_threads()
    if args.serve:
        if args.device != "cpu":
            parser.error("--serve times the CPU")
        serve(args, default_threads)
        return
    if not args.config or not args.batch:
        parser.error("--config and --batch are required (or --serve)")
    config = json.loads(args.config)
    torch.manual_seed(1)
    model = build_alexnet(config).to(args.device)
    device = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    params, text = model_line(config, model, device, default_threads)
    print(text, flush=True)
    if args.expect_params is not None and params != args.expect_params:
        parser.exit(2, f"parameter count {params} != expected {args.expect_params}\n")

    for threads in args.threads:
        torch.set_num_threads(threads)
        for batch in args.batch:
            for kind, (seconds, reps) in measure(model, config, batch, args).items():
                print(figure(kind, config, batch, seconds, reps), flush=True)


if __name__ == "__main__":
    main()
