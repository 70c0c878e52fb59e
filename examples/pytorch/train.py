#!/usr/bin/env python3
"""A Hanse site's own trainer, in PyTorch: trains the built-in character model's architecture on the
site's text for one round.

    hanse agent ... --trainer-command "/usr/bin/python3 examples/pytorch/train.py --corpus /data/text"

The agent appends the round file's path (docs/external-trainer.md). This script reads the global
checkpoint it names (safetensors, float32), trains, and writes the trained checkpoint and the metrics
file. It reads and writes safetensors with the standard library and torch alone.

The model: the previous CONTEXT characters' embeddings, concatenated, through one tanh layer, to
logits over the 97-token vocabulary (0: any other character, 1: newline, 2-96: printable ASCII).
Its tensors: embedding [97, E], hidden.weight [CONTEXT*E, H], hidden.bias [H], output.weight [H, 97],
output.bias [97].
"""
import argparse
import json
import math
import pathlib
import struct
import time

import torch

VOCAB = 97
HELD_OUT_SHARE = 0.1


def read_safetensors(path):
    """The tensors of a float32 safetensors file, by name, and its metadata."""
    data = pathlib.Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError("%s: tensor %s is %s, not F32" % (path, name, info["dtype"]))
        start, end = info["data_offsets"]
        values = torch.frombuffer(bytearray(body[start:end]), dtype=torch.float32)
        tensors[name] = values.reshape(info["shape"]).clone()
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    """Writes float32 tensors, in the order given, with 8-byte aligned header."""
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        values = tensor.detach().contiguous().to(torch.float32).flatten().tolist()
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = metadata
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    partial = pathlib.Path(str(path) + ".part")
    with open(partial, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)
    partial.rename(path)


def encode(text):
    """Hanse's fixed character vocabulary."""
    tokens = []
    for character in text:
        if character == "\n":
            tokens.append(1)
        elif " " <= character <= "~":
            tokens.append(ord(character) - ord(" ") + 2)
        else:
            tokens.append(0)
    return tokens


def training_text(corpus):
    """The corpus folder's text files, in name order, without the held-out tail the agent evaluates on."""
    files = sorted(p for p in pathlib.Path(corpus).rglob("*") if p.is_file() and p.suffix in (".txt", ".md", ""))
    if not files:
        raise SystemExit("no text files in %s" % corpus)
    tokens = encode("\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files))
    held_out = max(2, round(len(tokens) * HELD_OUT_SHARE))
    return torch.tensor(tokens[:len(tokens) - held_out], dtype=torch.long)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="folder of UTF-8 text files to train on")
    parser.add_argument("round_file", help="the round file the agent wrote")
    args = parser.parse_args()
    round_ = json.loads(pathlib.Path(args.round_file).read_text())
    torch.manual_seed(round_["seed"])

    params, metadata = read_safetensors(round_["checkpoint"])
    start = {name: tensor.clone() for name, tensor in params.items()}
    for tensor in params.values():
        tensor.requires_grad_(True)
    embed = params["embedding"].shape[1]
    context = params["hidden.weight"].shape[0] // embed
    text = training_text(args.corpus)
    if len(text) <= context:
        raise SystemExit("the corpus has %d characters, fewer than the model's context %d" % (len(text), context))

    # As the built-in trainer: weight decay on the weights, none on the biases.
    groups = [{"params": [t for n, t in params.items() if not n.endswith(".bias")],
               "weight_decay": round_["weightDecay"]},
              {"params": [t for n, t in params.items() if n.endswith(".bias")], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=round_["learningRate"])
    mu = round_.get("proximalMu") or 0.0
    batch = round_["batchSize"]
    budget = round_.get("timeBudgetSeconds")
    steps_wanted = round_.get("localSteps") or 1
    began = time.monotonic()
    losses = []
    while (len(losses) < steps_wanted) if budget is None else (not losses or time.monotonic() - began < budget):
        positions = torch.randint(context, len(text), (batch,))
        windows = torch.stack([text[p - context:p] for p in positions.tolist()])
        inputs = params["embedding"][windows].reshape(batch, context * embed)
        hidden = torch.tanh(inputs @ params["hidden.weight"] + params["hidden.bias"])
        logits = hidden @ params["output.weight"] + params["output.bias"]
        loss = torch.nn.functional.cross_entropy(logits, text[positions])
        objective = loss
        if mu > 0:
            objective = loss + mu / 2 * sum(((params[n] - start[n]) ** 2).sum() for n in params)
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
        losses.append(loss.item())

    write_safetensors(round_["output"], params, metadata)
    mean_loss = sum(losses) / len(losses)
    if not math.isfinite(mean_loss):
        raise SystemExit("training diverged: mean loss %s" % mean_loss)
    pathlib.Path(round_["metrics"]).write_text(json.dumps({
        "samples": len(text) - context, "loss": mean_loss, "steps": len(losses),
        "seconds": time.monotonic() - began, "trainer": "pytorch %s" % torch.__version__}))
    print("round %d: %d steps, mean loss %.4f" % (round_["round"], len(losses), mean_loss))


if __name__ == "__main__":
    main()
