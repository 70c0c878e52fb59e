"""An independent safetensors reader, from the format's description only (8-byte little-endian
header length, JSON header, raw little-endian data), with nothing but the standard library.
Prints, as JSON, each tensor's dtype, shape and the sum of its values, and the metadata."""
import json
import struct
import sys

SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4}

with open(sys.argv[1], "rb") as f:
    blob = f.read()
(header_len,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + header_len])
data = blob[8 + header_len:]
out = {"metadata": header.pop("__metadata__", {}), "tensors": {}}
covered = 0
for name, info in header.items():
    begin, end = info["data_offsets"]
    count = 1
    for dim in info["shape"]:
        count *= dim
    assert info["dtype"] == "F32", info["dtype"]
    assert end - begin == count * SIZES[info["dtype"]], name
    values = struct.unpack("<%df" % count, data[begin:end])
    out["tensors"][name] = {"dtype": info["dtype"], "shape": info["shape"], "sum": sum(values)}
    covered += end - begin
assert covered == len(data), "tensors do not cover the data"
print(json.dumps(out))
