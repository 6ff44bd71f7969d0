"""Tests of torch_rnn.py that need no torch: the float32 codec, the problem's layouts and the protocol.

Run by tooling/bench/test/pytorch.test.ts (python3 with numpy), or by hand:

    python3 tooling/bench/gpu/test_torch_rnn.py [FIXTURE.json]

FIXTURE.json (written by the Node test) holds `init` messages of small problems and what recur-js
computes for them; a numpy LSTM / GRU written from PyTorch's documented equations must compute the
same from what `decode_problem` reads. That checks the layouts the torch engine relies on
(time-major inputs, PyTorch's weight shapes and gate orders) without torch.
"""

import io
import json
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_rnn  # noqa: E402

FIXTURE = os.environ.get("BENCH_TORCH_FIXTURE") or (sys.argv[1] if len(sys.argv) > 1 else None)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def numpy_forward(msg):
    """nn.LSTM / nn.GRU (reset-after) forward from PyTorch's equations, float64, zero initial state."""
    arrays = torch_rnn.decode_problem(msg)
    a = {k: np.array(v, dtype=np.float64).reshape(shape) for k, (v, shape) in arrays.items()}
    w = msg["workload"]
    s = w["shape"]
    B, T, H = s["B"], s["T"], s["H"]
    h = np.zeros((B, H))
    c = np.zeros((B, H))
    ys = []
    for t in range(T):
        x = a["x"][t]
        gi = x @ a["weight_ih_l0"].T + a["bias_ih_l0"]
        gh = h @ a["weight_hh_l0"].T + a["bias_hh_l0"]
        if w["cell"] == "lstm":
            g = gi + gh
            i, f, gg, o = (g[:, k * H : (k + 1) * H] for k in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(gg)
            h = sigmoid(o) * np.tanh(c)
        else:
            r = sigmoid(gi[:, :H] + gh[:, :H])
            z = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
            n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
            h = (1 - z) * n + z * h
        ys.append(h)
    out = {"output": np.stack(ys), "hN": h}
    if w["cell"] == "lstm":
        out["cN"] = c
    return out


class Codec(unittest.TestCase):
    def test_round_trip_and_little_endian_bytes(self):
        values = [0.0, -1.5, 3.25, 2.0**-126, float("inf")]  # exact in float32
        text = torch_rnn.encode_f32(values)
        self.assertEqual(list(torch_rnn.decode_f32(text)), values)
        self.assertEqual(np.frombuffer(__import__("base64").b64decode(text), dtype="<f4").tolist(), values)

    def test_rejects_a_partial_value(self):
        with self.assertRaisesRegex(ValueError, "whole number of float32 values, found 6 bytes"):
            torch_rnn.decode_f32("AAAAAAAA")


def small_init(cell="lstm", B=2, T=3, D=4, H=5, drop=None):
    rng = np.random.default_rng(0)
    w = {"id": "t", "cell": cell, "mode": "forward", "shape": {"B": B, "T": T, "D": D, "H": H}}
    shapes = torch_rnn.shapes_of(w)
    arrays = {
        k: torch_rnn.encode_f32(rng.standard_normal(int(np.prod(s))).astype(np.float32).tolist())
        for k, s in shapes.items()
        if k != drop
    }
    return {"type": "init", "device": "cpu", "threads": 1, "workload": w, "arrays": arrays}


class Problem(unittest.TestCase):
    def test_shapes_follow_pytorch(self):
        shapes = torch_rnn.shapes_of(small_init("gru")["workload"])
        self.assertEqual(shapes["weight_ih_l0"], (15, 4))
        self.assertEqual(shapes["weight_hh_l0"], (15, 5))
        self.assertEqual(shapes["x"], (3, 2, 4))
        self.assertEqual(shapes["target"], (3, 2, 5))

    def test_refuses_missing_or_mis_sized_arrays(self):
        with self.assertRaisesRegex(ValueError, "expected the array bias_hh_l0 in init"):
            torch_rnn.decode_problem(small_init(drop="bias_hh_l0"))
        msg = small_init()
        msg["arrays"]["x"] = torch_rnn.encode_f32([1.0, 2.0])
        with self.assertRaisesRegex(ValueError, r"expected x of shape \(3, 2, 4\) \(24 values\), found 2"):
            torch_rnn.decode_problem(msg)

    @unittest.skipUnless(FIXTURE, "no fixture from the Node test")
    def test_layouts_agree_with_recur(self):
        with open(FIXTURE) as f:
            cases = json.load(f)
        self.assertGreaterEqual(len(cases), 2)
        for case in cases:
            got = numpy_forward(case["init"])
            for name, text in case["expected"].items():
                want = np.array(torch_rnn.decode_f32(text), dtype=np.float64)
                diff = np.max(np.abs(got[name].reshape(-1) - want))
                self.assertLess(diff, 1e-5, "%s %s" % (case["init"]["workload"]["id"], name))


class FakeEngine:
    def __init__(self, msg):
        if msg["workload"]["cell"] == "boom":
            raise RuntimeError("no such cell")
        self.threads = msg["threads"]
        self.info = "fake"
        self.closed = False

    def check(self):
        return {"loss": 0.5, "hN": [1.0, 2.0]}

    def run(self):
        return 1.25

    def close(self):
        self.closed = True


class Protocol(unittest.TestCase):
    def talk(self, *messages, make=FakeEngine):
        out = io.StringIO()
        torch_rnn.serve(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)), out, make)
        return [json.loads(line) for line in out.getvalue().splitlines()]

    def test_a_session(self):
        init = {"type": "init", "threads": 2, "workload": {"cell": "lstm"}}
        replies = self.talk(init, {"type": "check"}, {"type": "run"}, {"type": "close"}, {"type": "run"})
        self.assertEqual([r["type"] for r in replies], ["ready", "checked", "ran", "closed"])
        self.assertEqual(replies[0], {"type": "ready", "threads": 2, "info": "fake"})
        self.assertEqual(replies[1]["result"]["loss"], 0.5)
        self.assertEqual(list(torch_rnn.decode_f32(replies[1]["result"]["hN"])), [1.0, 2.0])
        self.assertEqual(replies[2]["ms"], 1.25)

    def test_failures_are_replies(self):
        replies = self.talk(
            {"type": "run"},
            {"type": "init", "threads": 1, "workload": {"cell": "boom"}},
            {"type": "init", "threads": 1, "workload": {"cell": "lstm"}},
            {"type": "dance"},
        )
        self.assertEqual(replies[0], {"type": "error", "message": "RuntimeError: expected init first, found 'run'"})
        self.assertEqual(replies[1], {"type": "error", "message": "RuntimeError: no such cell"})
        self.assertEqual(replies[2]["type"], "ready")
        self.assertEqual(
            replies[3],
            {"type": "error", "message": "ValueError: expected init, check, run or close, found 'dance'"},
        )

    def test_without_torch_init_says_so(self):
        saved = sys.modules.get("torch")
        sys.modules["torch"] = None  # makes `import torch` raise ImportError, with or without torch
        try:
            replies = self.talk(small_init(), make=torch_rnn.TorchEngine)
        finally:
            if saved is None:
                del sys.modules["torch"]
            else:
                sys.modules["torch"] = saved
        self.assertEqual(replies[0]["type"], "error")
        self.assertRegex(replies[0]["message"], r"^RuntimeError: torch not found: python 3\.\d+\.\d+ could not import torch")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
