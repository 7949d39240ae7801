"""The one frame format of grader.worker.protocol, and the budgets of its reading side."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from grader.worker import protocol


class Pipe:
    """``read(n)`` over bytes, recording every read (to prove what was never read)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.offset, self.reads = data, 0, []

    def __call__(self, n: int) -> bytes:
        self.reads.append(n)
        if self.offset + n > len(self.data):
            raise EOFError("the other end closed its pipe")
        chunk = self.data[self.offset : self.offset + n]
        self.offset += n
        return chunk


def payload_of(header: bytes) -> bytes:
    """A payload with ``header`` as its JSON and no buffers, whatever the header says."""
    return protocol.MAGIC + struct.pack("<I", len(header)) + header + struct.pack("<I", 0)


def test_a_frame_round_trips_with_its_id():
    value = {"a": [1, 2.5, None, True, "x"], "t": (1, (2, 3)), "nan": float("nan"), "neg": -0.0,
             "arr": np.arange(12, dtype=np.int16).reshape(3, 4), "f": np.float32(1.5)}
    frame = protocol.pack_frame(42, value)
    frame_id, length = protocol.PREFIX.unpack(frame[: protocol.PREFIX_SIZE])
    assert (frame_id, length) == (42, len(frame) - protocol.PREFIX_SIZE)
    got_id, back = protocol.read_frame(Pipe(frame), expect_id=42, max_bytes=1 << 20)
    assert got_id == 42
    assert back["a"] == value["a"] and back["t"] == (1, (2, 3)) and back["f"] == 1.5
    assert np.isnan(back["nan"]) and str(back["neg"]) == "-0.0"
    assert back["arr"].dtype == np.int16 and np.array_equal(back["arr"], value["arr"])
    assert back["arr"].flags.writeable


def test_the_goodbye_and_setup_ids_round_trip():
    for frame_id in (protocol.BYE_ID, protocol.SETUP_ID):
        assert protocol.read_frame(Pipe(protocol.pack_frame(frame_id, {"op": "x"})), expect_id=frame_id,
                                   max_bytes=1024) == (frame_id, {"op": "x"})


def test_an_oversized_prefix_is_refused_before_its_payload_is_read():
    pipe = Pipe(protocol.PREFIX.pack(7, 512 * 1024**2) + b"[0," * 1000)
    with pytest.raises(protocol.ProtocolError, match=r"536870912 bytes, more than the 65536 allowed"):
        protocol.read_frame(pipe, expect_id=7, max_bytes=65536)
    assert pipe.reads == [protocol.PREFIX_SIZE]


def test_a_frame_for_another_id_is_refused_without_reading_its_payload():
    pipe = Pipe(protocol.pack_frame(8, {"ok": True, "value": 0.01}))
    with pytest.raises(protocol.ProtocolError, match="a frame for request 8 came while request 7 was awaited"):
        protocol.read_frame(pipe, expect_id=7, max_bytes=1 << 20)
    assert pipe.reads == [protocol.PREFIX_SIZE]


def test_the_id_is_checked_before_the_size():
    with pytest.raises(protocol.ProtocolError, match="request 9 came"):
        protocol.read_prefix(Pipe(protocol.PREFIX.pack(9, 1 << 40)), expect_id=1, max_bytes=10)


def test_a_closed_pipe_is_eof_not_a_breach():
    with pytest.raises(EOFError):
        protocol.read_frame(Pipe(protocol.pack_frame(1, [1, 2])[:-3]), expect_id=1, max_bytes=1 << 20)


@pytest.mark.parametrize("depth", [protocol.MAX_DEPTH + 2, 100_000])
def test_deep_nesting_is_a_protocol_error_not_a_recursion_error(depth):
    payload = payload_of(b"[" * depth + b"]" * depth)
    with pytest.raises(protocol.ProtocolError, match="nested too deeply"):
        protocol.decode(payload)


def test_nesting_within_the_limit_decodes():
    value: list = []
    for _ in range(protocol.MAX_DEPTH - 1):
        value = [value]
    assert protocol.decode(protocol.encode(value)) == value


def test_the_item_budget_is_kept():
    header = b"[" + b",".join([b"0"] * 100) + b"]"
    assert protocol.decode(payload_of(header)) == [0] * 100
    with pytest.raises(protocol.ProtocolError, match="more than 50 items"):
        protocol.decode(payload_of(header), max_elements=50)
    # dict entries count too, and so does the walk itself (not only the bytes before json.loads)
    with pytest.raises(protocol.ProtocolError, match="too many items"):
        protocol._from_json({"a": 1, "b": [1, 2, 3]}, [], 0, protocol._Budget(3, protocol.MAX_DEPTH))


def test_the_default_budgets_refuse_what_json_loads_would_blow_up():
    many = payload_of(b"[" + b"0," * protocol.MAX_ELEMENTS + b"0]")
    with pytest.raises(protocol.ProtocolError, match=f"more than {protocol.MAX_ELEMENTS} items"):
        protocol.decode(many)
    lists = payload_of(b"[" + b"[]," * protocol.MAX_CONTAINERS + b"[]]")
    with pytest.raises(protocol.ProtocolError, match="lists and dicts"):
        protocol.decode(lists)


@pytest.mark.parametrize("payload", [
    b"",
    b"GRD",
    b"XXXX" + protocol.encode(1)[4:],
    protocol.encode({"x": np.zeros(4)})[:-1],
    protocol.encode({"x": np.zeros(4)}) + b"junk",
    payload_of(b"\xff\xfe"),
    payload_of(b"[1, 2"),
    payload_of(b"9" * 10_000),  # int() refuses 10,000 digits (ValueError)
    payload_of(b'{"__nd__": 0, "dtype": "object", "shape": [1]}'),
    payload_of(b'{"__nd__": 0, "dtype": "float64", "shape": [1]}'),
    payload_of(b'{"__nd__": true, "dtype": "float64", "shape": []}'),
    payload_of(b'{"__tuple__": "abc"}'),
    payload_of(b'{"__float__": "1e308"}'),
    protocol.MAGIC + struct.pack("<I", 2) + b"[]" + struct.pack("<I", 2**32 - 1),
])
def test_every_malformed_payload_is_a_protocol_error(payload):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(payload)


def test_a_buffer_of_the_wrong_size_for_its_shape_is_refused():
    good = protocol.encode(np.zeros(4))
    forged = good.replace(b'"shape": [4]', b'"shape": [5]')
    assert forged != good
    with pytest.raises(protocol.ProtocolError, match="does not match its shape"):
        protocol.decode(forged)


def test_fd_reader_and_write_all_carry_a_frame_over_a_pipe():
    r, w = os.pipe()
    try:
        frame = protocol.pack_frame(3, {"x": np.ones(100)})
        protocol.write_all(w, frame)
        os.close(w)
        read = protocol.fd_reader(r)
        frame_id, value = protocol.read_frame(read, expect_id=3, max_bytes=1 << 20)
        assert frame_id == 3 and np.array_equal(value["x"], np.ones(100))
        with pytest.raises(EOFError):
            read(1)
    finally:
        os.close(r)


def test_the_protocol_and_the_worker_main_load_no_numpy():
    """The worker reads its setup frame before it confines itself, when numpy (and its
    threads) must not be loaded yet: the protocol is standard library until an array crosses."""
    code = ("import sys; import grader.worker.main; from grader.worker import protocol; "
            "frame = protocol.pack_frame(0, {'a': [1, 2.5, 'x', None, (1,)]}); "
            "assert protocol.decode(frame[protocol.PREFIX_SIZE:]) == {'a': [1, 2.5, 'x', None, (1,)]}; "
            "assert 'numpy' not in sys.modules, 'numpy was imported'")
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
