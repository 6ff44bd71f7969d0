#!/usr/bin/env python3
"""PyTorch as a system of Recur's benchmark suite (tooling/bench, systems `pytorch` and `pytorch-cpu`).

nn.LSTM / nn.GRU (cuDNN on CUDA), f32 with TF32 off, on the weights, inputs and targets that the
bench gives every system. The bench's system process (src/systems/pytorch.ts) starts this script
and speaks to it over stdin/stdout, one JSON object a line; float32 arrays travel as base64 of
their little-endian bytes:

  -> {"type": "init", "device": "cuda"|"cpu", "threads": n, "workload": {...}, "arrays": {...}}
  <- {"type": "ready", "threads": n, "info": "torch 2.x, CUDA 12.x, cuDNN 9xxxx, NVIDIA H100 ..."}
  -> {"type": "check"}   <- {"type": "checked", "ms": t, "result": {...}}
  -> {"type": "run"}     <- {"type": "ran", "ms": t}
  -> {"type": "close"}   <- {"type": "closed"}
  any failure            <- {"type": "error", "message": "..."}

`run` times the work itself (time.perf_counter between device synchronisations), including
reading the result back to the host as the other systems do: the outputs (forward), the final
state (streaming), the loss and d loss/d weight_ih (training).

Nothing here needs torch until `init`, so that the protocol and the layouts can be tested without
it (gpu/test_torch_rnn.py); a missing torch is an `error` reply that says so.
"""

import array
import base64
import json
import os
import sys
import time

GATES = {"lstm": 4, "gru": 3}
WEIGHTS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def decode_f32(text):
    """base64 of little-endian float32 bytes -> array.array('f')."""
    raw = base64.b64decode(text)
    if len(raw) % 4:
        raise ValueError("expected a whole number of float32 values, found %d bytes" % len(raw))
    out = array.array("f")
    out.frombytes(raw)
    if sys.byteorder != "little":
        out.byteswap()
    return out


def encode_f32(values):
    """A sequence of floats (or array.array('f')) -> base64 of little-endian float32 bytes."""
    a = values if isinstance(values, array.array) and values.typecode == "f" else array.array("f", values)
    if sys.byteorder != "little":
        a = array.array("f", a)
        a.byteswap()
    return base64.b64encode(a.tobytes()).decode("ascii")


def shapes_of(workload):
    """The shape of every array of a problem: PyTorch's layouts, time-major inputs."""
    s = workload["shape"]
    B, T, D, H = s["B"], s["T"], s["D"], s["H"]
    G = GATES[workload["cell"]]
    return {
        "weight_ih_l0": (G * H, D),
        "weight_hh_l0": (G * H, H),
        "bias_ih_l0": (G * H,),
        "bias_hh_l0": (G * H,),
        "x": (T, B, D),
        "target": (T, B, H),
    }


def decode_problem(msg):
    """The `init` message's arrays, checked against the workload's shapes: name -> (array, shape)."""
    workload = msg["workload"]
    if workload["cell"] not in GATES:
        raise ValueError("expected cell lstm or gru, found %r" % workload["cell"])
    out = {}
    for name, shape in shapes_of(workload).items():
        if name not in msg["arrays"]:
            raise ValueError("expected the array %s in init, found none" % name)
        a = decode_f32(msg["arrays"][name])
        n = 1
        for d in shape:
            n *= d
        if len(a) != n:
            raise ValueError("expected %s of shape %s (%d values), found %d values" % (name, shape, n, len(a)))
        out[name] = (a, shape)
    return out


class TorchEngine:
    """One workload on nn.LSTM / nn.GRU: `check()` -> result dict, `run()` -> ms, `close()`."""

    def __init__(self, msg):
        try:
            import torch
        except ImportError as e:
            raise RuntimeError(
                "torch not found: python %s could not import torch (%s); install PyTorch, or point "
                "RECUR_BENCH_PYTHON at a Python that has it" % (sys.version.split()[0], e)
            )
        self.torch = torch
        device = msg.get("device", "cuda")
        # f32 as f32: no TF32 tensor-core rounding in matmuls or cuDNN.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        if device == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError(
                    "no CUDA device: torch %s reports torch.cuda.is_available() False (use pytorch-cpu to run on the CPU)"
                    % torch.__version__
                )
        elif device != "cpu":
            raise ValueError("expected device cuda or cpu, found %r" % device)
        self.threads = int(msg.get("threads", 1))
        if device == "cpu":
            torch.set_num_threads(self.threads)
        else:
            self.threads = 1
        self.device = torch.device(device)
        self.cuda = device == "cuda"

        w = msg["workload"]
        s = w["shape"]
        B, T, D, H = s["B"], s["T"], s["D"], s["H"]
        self.mode = w["mode"]
        self.lstm = w["cell"] == "lstm"
        if not self.lstm and not w.get("resetAfter", True):
            raise ValueError(
                "nn.GRU applies the reset gate after the recurrent matmul (reset-after); this workload is reset-before"
            )
        arrays = decode_problem(msg)

        def tensor(name):
            a, shape = arrays[name]
            return torch.frombuffer(bytearray(a.tobytes()), dtype=torch.float32).reshape(shape).to(self.device)

        cls = torch.nn.LSTM if self.lstm else torch.nn.GRU
        self.module = cls(D, H, num_layers=1, bias=True, batch_first=False).to(self.device)
        with torch.no_grad():
            for name in WEIGHTS:
                getattr(self.module, name).copy_(tensor(name))
        self.module.flatten_parameters()
        self.x = tensor("x")
        self.target = tensor("target")
        self.B, self.T, self.H = B, T, H
        self.info = self.describe()

    def describe(self):
        torch = self.torch
        parts = ["torch %s" % torch.__version__]
        if self.cuda:
            parts.append("CUDA %s" % torch.version.cuda)
            parts.append("cuDNN %s" % torch.backends.cudnn.version())
            parts.append(torch.cuda.get_device_name(self.device))
        else:
            parts.append("CPU, %d thread%s" % (self.threads, "" if self.threads == 1 else "s"))
        parts.append("TF32 off")
        return ", ".join(parts)

    def sync(self):
        if self.cuda:
            self.torch.cuda.synchronize(self.device)

    def zero_state(self):
        z = self.torch.zeros(1, self.B, self.H, device=self.device)
        return (z, self.torch.zeros(1, self.B, self.H, device=self.device)) if self.lstm else z

    def train_step(self):
        self.module.zero_grad(set_to_none=True)
        y, state = self.module(self.x)
        loss = self.torch.mean((y - self.target) ** 2)
        loss.backward()
        return loss, state

    def forward(self):
        with self.torch.no_grad():
            return self.module(self.x)

    def stream(self):
        with self.torch.no_grad():
            state = self.zero_state()
            for t in range(self.T):
                _, state = self.module(self.x[t : t + 1], state)
            return state

    def run(self):
        """One timed run, in ms, results read back to the host."""
        self.sync()
        t0 = time.perf_counter()
        if self.mode == "train":
            loss, _ = self.train_step()
            loss.item()
            self.module.weight_ih_l0.grad.cpu()
        elif self.mode == "forward":
            y, _ = self.forward()
            y.cpu()
        else:
            state = self.stream()
            for s in state if self.lstm else (state,):
                s.cpu()
        self.sync()
        return (time.perf_counter() - t0) * 1000.0

    def check(self):
        """The results compared with Recur's: outputs and final states, or the loss and d weight_ih."""
        if self.mode == "train":
            loss, state = self.train_step()
            h = state[0] if self.lstm else state
            return {
                "hN": flat(h),
                "loss": loss.item(),
                "gradWeightIh": flat(self.module.weight_ih_l0.grad),
            }
        if self.mode == "forward":
            y, state = self.forward()
            out = {"output": flat(y)}
        else:
            state = self.stream()
            out = {}
        if self.lstm:
            out["hN"], out["cN"] = flat(state[0]), flat(state[1])
        else:
            out["hN"] = flat(state)
        return out

    def close(self):
        self.module = self.x = self.target = None
        if self.cuda:
            self.torch.cuda.empty_cache()


def flat(t):
    """A tensor's values as array.array('f'), in row-major order."""
    t = t.detach().float().cpu().contiguous().reshape(-1)
    try:
        return array.array("f", t.numpy().tobytes())
    except (RuntimeError, TypeError, ImportError):
        # torch built without numpy: slower, fine for check results.
        return array.array("f", t.tolist())


def encode_result(result):
    return {k: (v if isinstance(v, float) else encode_f32(v)) for k, v in result.items()}


def serve(inp, out, make_engine):
    """Answers the bench's requests (one JSON object a line on `inp`) on `out` until `close` or EOF."""

    def reply(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    engine = None
    for line in inp:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            kind = msg.get("type")
            if kind == "init":
                engine = make_engine(msg)
                reply({"type": "ready", "threads": engine.threads, "info": engine.info})
            elif engine is None:
                raise RuntimeError("expected init first, found %r" % kind)
            elif kind == "check":
                t0 = time.perf_counter()
                result = engine.check()
                reply(
                    {
                        "type": "checked",
                        "ms": (time.perf_counter() - t0) * 1000.0,
                        "result": encode_result(result),
                    }
                )
            elif kind == "run":
                reply({"type": "ran", "ms": engine.run()})
            elif kind == "close":
                engine.close()
                reply({"type": "closed"})
                return
            else:
                raise ValueError("expected init, check, run or close, found %r" % kind)
        except Exception as e:  # every failure becomes a reply: the bench reports it
            reply({"type": "error", "message": "%s: %s" % (type(e).__name__, e)})


def main():
    # The protocol owns the real stdout; anything printed by libraries goes to stderr.
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin, proto, TorchEngine)


if __name__ == "__main__":
    main()
