"""Tiny safetensors writer and reader for the reference generators (tools/gen-ref-*.py).

    import ref_safetensors as st
    st.save("tests/data/x.safetensors", {"conv0.x": tensor_or_ndarray, ...}, metadata={"k": "v"})
    d = st.load("tests/data/x.safetensors")          # name -> numpy array
    meta = st.load_metadata("tests/data/x.safetensors")

Only the safetensors format is involved (no `safetensors` package): an 8-byte little-endian header
length, a JSON header {"__metadata__": {...}, "name": {"dtype", "shape", "data_offsets"}, ...}
padded with spaces to a multiple of 8, then the raw little-endian data. Values may be torch
tensors or numpy arrays (or Python floats/ints, stored as F32/I64 scalars). The writer stores F32
and I64 (float tensors of any width are stored as F32, integer ones as I64); the reader also reads
F64/F16/BF16/I32/I8/U8. The layout matches alrp_st_save in alrp.h byte for byte: tensors stably
sorted by element size (largest first, so each is aligned), header keys in that order after
"__metadata__", compact JSON. The file is written to "<path>.tmp" and renamed over path.
"""
import json
import os
import struct

import numpy as np

_DTYPES = {  # safetensors name -> little-endian numpy dtype
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?",
}


def _to_numpy(value):
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        value = value.detach().cpu().contiguous().numpy()
    a = np.asarray(value)
    if a.dtype.kind == "f":
        return "F32", np.array(a, dtype="<f4", order="C")  # ascontiguousarray would make 0-d 1-d
    if a.dtype.kind in "iub":
        return "I64", np.array(a, dtype="<i8", order="C")
    raise TypeError("ref_safetensors: cannot store dtype %s (F32 and I64 only)" % a.dtype)


def _json_str(s):
    return json.dumps(s, ensure_ascii=False)


def save(path, tensors, metadata=None):
    """Writes a dict name -> tensor/ndarray (insertion order kept within one element size)."""
    items = []
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__" or len(name.encode("utf-8")) > 127:
            raise ValueError("ref_safetensors: bad tensor name %r (at most 127 bytes)" % (name,))
        dtype, a = _to_numpy(value)
        items.append((name, dtype, a))
    items.sort(key=lambda it: -it[2].itemsize)  # stable: largest element first, as alrp_st_save
    parts = []
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("ref_safetensors: metadata must map str to str, got %r: %r" % (k, v))
        parts.append('"__metadata__":{' + ",".join(_json_str(k) + ":" + _json_str(v) for k, v in metadata.items()) + "}")
    off = 0
    for name, dtype, a in items:
        shape = ",".join(str(int(d)) for d in a.shape)
        parts.append('%s:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}' % (_json_str(name), dtype, shape, off, off + a.nbytes))
        off += a.nbytes
    header = ("{" + ",".join(parts) + "}").encode("utf-8")
    header += b" " * (-len(header) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for _, _, a in items:
            f.write(a.tobytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError("%s: header length %d exceeds the file size" % (path, n))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    return header, raw[8 + n:]


def load(path):
    """Returns a dict name -> numpy array (a copy), in the file's data order."""
    header, data = _read(path)
    out = {}
    entries = [(k, v) for k, v in header.items() if k != "__metadata__"]
    entries.sort(key=lambda kv: kv[1]["data_offsets"][0])
    pos = 0
    for name, info in entries:
        b, e = info["data_offsets"]
        if info["dtype"] not in _DTYPES:
            raise ValueError("%s: tensor %r: unknown dtype %r" % (path, name, info["dtype"]))
        dt = np.dtype(_DTYPES[info["dtype"]])
        shape = tuple(int(d) for d in info["shape"])
        if b != pos or e > len(data) or e - b != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise ValueError("%s: tensor %r: bad data_offsets [%d, %d]" % (path, name, b, e))
        out[name] = np.frombuffer(data[b:e], dtype=dt).reshape(shape).copy()
        pos = e
    if pos != len(data):
        raise ValueError("%s: %d bytes after the last tensor" % (path, len(data) - pos))
    return out


def load_metadata(path):
    """Returns the "__metadata__" dict (str -> str), empty if there is none."""
    header, _ = _read(path)
    return dict(header.get("__metadata__", {}))


def _write_test_file(path):
    """The file tests/test-safetensors.c cross-checks (it writes the same content with
    alrp_st_save and expects identical bytes)."""
    t = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1.0,
        "odd": np.arange(7, dtype=np.float32) * 0.125,
        "b": np.array([-3, 0, 2 ** 40 + 1], dtype=np.int64),
        "scalar": np.float32(3.25),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "w\u00e9ird \"name\"\\": np.array([[1.5], [-2.5]], dtype=np.float32),
    }
    meta = {"format": "pt", "quote": "a\"b\\c\nd\te", "unicode": "\u00e9\u20ac\U0001F600", "ctl": "\x01"}
    save(path, t, meta)


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--write-test-file":
        _write_test_file(sys.argv[2])
        print("wrote", sys.argv[2])
    else:
        print("usage: python3 tools/ref_safetensors.py --write-test-file tests/data/st-python.safetensors")
        sys.exit(2)
