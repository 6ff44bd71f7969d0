#!/usr/bin/env python3
"""Reference fixtures for @recur/cells, computed with PyTorch.

For each case this builds torch.nn.RNN / LSTM / GRU with a fixed seed, runs it forward on seeded
inputs (packed with pack_padded_sequence when the case has lengths), backpropagates
    loss = sum(output * cot_output) + sum(h_n * cot_hN) [+ sum(c_n * cot_cN)]
and writes one safetensors file holding:

    <state_dict names>        the model's weights (F32), exactly as model.state_dict() names them
    input.x, input.h0, input.c0
    cotangent.output, cotangent.hN, cotangent.cN
    expected.output, expected.hN, expected.cN
    grad.x, grad.h0, grad.c0, grad.<state_dict name>

Inputs and weights are float32; the expected values and gradients are computed in float64 from
those float32 values, so they are the exact answer that an f32 implementation approximates.
The config is in the metadata (key "config", JSON).

Two more files: lstm_state_dict.safetensors (a bare LSTM state_dict, as
safetensors.torch.save_file writes it, with metadata {"format": "pt"}) and dtypes.safetensors
(one tensor of each dtype the reader converts, with the values it must give as F64).

safetensors files are written here with struct and json, byte for byte as the reference (Rust)
writer does: tensors sorted by descending dtype then by name, __metadata__ first, compact JSON,
the header padded with spaces to a multiple of 8 bytes.

Run from the repository root with a Python that has torch (Debian: apt-get install python3-torch):
    /usr/bin/python3 packages/cells/scripts/make_torch_fixtures.py
"""

import json
import os
import struct

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures")

# The Rust crate's Dtype enum order; the writer sorts by it, descending.
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "F64", "I64", "U64"]
TORCH_DTYPES = {
    torch.float64: ("F64", "<f8"), torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8"),
    torch.int32: ("I32", "<i4"), torch.int16: ("I16", "<i2"), torch.int8: ("I8", "i1"),
    torch.uint8: ("U8", "u1"), torch.bool: ("BOOL", "u1"),
}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        name = "F16" if t.dtype == torch.float16 else "BF16"
        return name, list(t.shape), t.view(torch.int16).numpy().astype("<i2").tobytes()
    name, fmt = TORCH_DTYPES[t.dtype]
    return name, list(t.shape), t.numpy().astype(fmt).tobytes()


def save_safetensors(path, tensors, metadata=None):
    items = [(name,) + tensor_bytes(t) for name, t in tensors.items()]
    items.sort(key=lambda it: (-DTYPE_ORDER.index(it[1]), it[0].encode("utf-8")))
    header = {}
    if metadata is not None:
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata, key=lambda k: k.encode("utf-8"))}
    offset = 0
    for name, dtype, shape, data in items:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for _, _, _, data in items:
            f.write(data)


D, H, B, T = 5, 4, 3, 6

CASES = [
    dict(name="rnn_tanh_l1", layer="RNN", nonlinearity="tanh", numLayers=1, bidirectional=False),
    dict(name="rnn_relu_l2_bi", layer="RNN", nonlinearity="relu", numLayers=2, bidirectional=True),
    dict(name="rnn_tanh_l3_nobias", layer="RNN", nonlinearity="tanh", numLayers=3, bidirectional=False, bias=False),
    dict(name="rnn_relu_l2_bi_lengths", layer="RNN", nonlinearity="relu", numLayers=2, bidirectional=True,
         lengths=[4, 6, 1]),
    dict(name="lstm_l1", layer="LSTM", numLayers=1, bidirectional=False),
    dict(name="lstm_l2_bi_batchfirst", layer="LSTM", numLayers=2, bidirectional=True, batchFirst=True),
    dict(name="lstm_l3_bi", layer="LSTM", numLayers=3, bidirectional=True),
    dict(name="lstm_proj_l1", layer="LSTM", numLayers=1, bidirectional=False, projSize=2),
    dict(name="lstm_proj_l3_bi", layer="LSTM", numLayers=3, bidirectional=True, projSize=3),
    dict(name="lstm_proj_l2_bi_lengths", layer="LSTM", numLayers=2, bidirectional=True, projSize=3,
         lengths=[6, 2, 5]),
    dict(name="lstm_l2_lengths_batchfirst", layer="LSTM", numLayers=2, bidirectional=False, batchFirst=True,
         lengths=[3, 6, 1]),
    dict(name="gru_l1", layer="GRU", numLayers=1, bidirectional=False),
    dict(name="gru_l2_bi", layer="GRU", numLayers=2, bidirectional=True),
    dict(name="gru_l3_bi_nobias", layer="GRU", numLayers=3, bidirectional=True, bias=False),
    dict(name="gru_l2_bi_lengths_batchfirst", layer="GRU", numLayers=2, bidirectional=True, batchFirst=True,
         lengths=[2, 6, 5]),
]


def build(case):
    kwargs = dict(input_size=D, hidden_size=H, num_layers=case["numLayers"], bias=case.get("bias", True),
                  batch_first=case.get("batchFirst", False), bidirectional=case["bidirectional"])
    if case["layer"] == "RNN":
        return torch.nn.RNN(nonlinearity=case["nonlinearity"], **kwargs)
    if case["layer"] == "LSTM":
        return torch.nn.LSTM(proj_size=case.get("projSize", 0), **kwargs)
    return torch.nn.GRU(**kwargs)


def make_case(index, case):
    torch.manual_seed(1000 + index)
    model32 = build(case)
    state32 = {k: v.detach().clone() for k, v in model32.state_dict().items()}
    dirs = 2 if case["bidirectional"] else 1
    states = case["numLayers"] * dirs
    out_size = case.get("projSize", 0) or H
    batch_first = case.get("batchFirst", False)
    is_lstm = case["layer"] == "LSTM"
    x = torch.randn(B, T, D) if batch_first else torch.randn(T, B, D)
    h0 = torch.randn(states, B, out_size)
    c0 = torch.randn(states, B, H)
    out_shape = (B, T, dirs * out_size) if batch_first else (T, B, dirs * out_size)
    cot_out = torch.randn(*out_shape)
    cot_h = torch.randn(states, B, out_size)
    cot_c = torch.randn(states, B, H)

    # The reference computation in float64 from the float32 values.
    model = build(case).double()
    model.load_state_dict({k: v.double() for k, v in state32.items()})
    xd = x.double().requires_grad_()
    h0d = h0.double().requires_grad_()
    c0d = c0.double().requires_grad_()
    lengths = case.get("lengths")
    inp = xd
    if lengths is not None:
        inp = pack_padded_sequence(xd, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    if is_lstm:
        out, (hn, cn) = model(inp, (h0d, c0d))
    else:
        out, hn = model(inp, h0d)
        cn = None
    if lengths is not None:
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    loss = (out * cot_out.double()).sum() + (hn * cot_h.double()).sum()
    if is_lstm:
        loss = loss + (cn * cot_c.double()).sum()
    loss.backward()

    tensors = dict(state32)
    tensors["input.x"] = x
    tensors["input.h0"] = h0
    tensors["cotangent.output"] = cot_out
    tensors["cotangent.hN"] = cot_h
    tensors["expected.output"] = out.detach()
    tensors["expected.hN"] = hn.detach()
    tensors["grad.x"] = xd.grad
    tensors["grad.h0"] = h0d.grad
    if is_lstm:
        tensors["input.c0"] = c0
        tensors["cotangent.cN"] = cot_c
        tensors["expected.cN"] = cn.detach()
        tensors["grad.c0"] = c0d.grad
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad
    config = {k: v for k, v in case.items() if k != "name"}
    config.update(inputSize=D, hiddenSize=H, batch=B, steps=T)
    meta = {"config": json.dumps(config, sort_keys=True), "torch": torch.__version__}
    save_safetensors(os.path.join(OUT, case["name"] + ".safetensors"), tensors, meta)
    return model32


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, case in enumerate(CASES):
        model = make_case(i, case)
        if case["name"] == "lstm_proj_l2_bi_lengths":
            save_safetensors(os.path.join(OUT, "lstm_state_dict.safetensors"), model.state_dict(), {"format": "pt"})

    values = torch.tensor([0.0, -1.5, 2.25, 65504.0, 1e-3, -0.0, 3.14159, -7.0])
    dtypes = {
        "f64": values.double(),
        "f32": values.float(),
        "f16": values.half(),
        "bf16": values.bfloat16(),
        "i64": torch.tensor([[0, -1], [2147483647, -2147483648]], dtype=torch.int64),
        "i32": torch.tensor([7, -8, 9], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
    }
    out = dict(dtypes)
    for name, t in dtypes.items():
        out["expect." + name] = t.double()
    save_safetensors(os.path.join(OUT, "dtypes.safetensors"), out, {"note": "ünïcode ✓", "format": "pt"})


if __name__ == "__main__":
    main()
