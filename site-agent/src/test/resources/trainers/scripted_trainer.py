"""A trainer for ExternalTrainerTest: reads the round file and the global checkpoint (safetensors,
float32, with the standard library only), and does what MODE says: 'halve' writes every value
halved and honest metrics; the others misbehave in one way each."""
import json
import math
import struct
import sys
import time


def read_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        count = (end - start) // 4
        tensors[name] = (info["shape"], list(struct.unpack("<%df" % count, data[start:end])))
    return tensors


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


def main():
    mode, round_file = sys.argv[1], sys.argv[2]
    with open(round_file) as f:
        round_ = json.load(f)
    print("round", round_["round"], "of", round_["job"], "mode", mode, flush=True)
    tensors = read_safetensors(round_["checkpoint"])
    if mode == "exit":
        print("out of memory on the GPU", flush=True)
        sys.exit(3)
    if mode == "sleep":
        time.sleep(60)
    if mode == "slow":
        time.sleep(3)
    if mode == "nap":
        time.sleep(10)
    trained = {name: (shape, [v * 0.5 for v in values]) for name, (shape, values) in tensors.items()}
    if mode == "wrong-shape":
        name = sorted(trained)[0]
        shape, values = trained[name]
        trained[name] = ([len(values) + 1], values + [0.0])
    if mode == "nan":
        name = sorted(trained)[0]
        trained[name][1][1] = math.nan
    if mode != "no-checkpoint":
        write_safetensors(round_["output"], trained)
    if mode == "bad-metrics":
        with open(round_["metrics"], "w") as f:
            f.write('{"samples": 0, "loss": 1.5}')
        return
    with open(round_["metrics"], "w") as f:
        json.dump({"samples": 4096, "loss": 1.25, "steps": round_["localSteps"], "seed": round_["seed"]}, f)


main()
