"""Peak memory (RSS) of validate.py on one big request, to size the per-file limit (maxFileBytes).

For each size a request is written to a temp dir, of one flat FP32 tensor (``-12.3456, `` per element, the
common form), of short FP32 numbers (``0.5,``) or of INT8 arrays of one element (``[7],``, the costliest
form per byte found), and checked
by ``validate.py request`` in a child process; its peak RSS comes from ``os.wait4``'s rusage (Linux: KiB).
Rows marked ``limit lifted`` pass ``--max-file-bytes`` above the file's size, so the file is parsed and
checked: they measure what parsing costs per byte of file. The other rows run with the default limit: a
file above it is refused unread (rule R0), and the step's memory stays that of an empty run. The 500 MB
request is only ever measured against the limit (lifted, it would need about 8 GB).

Run: python bench/bench_memory.py [--sizes-mb 8,16,32,64,100] [--refused-mb 100,500]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
VALIDATE = os.path.join(ROOT, "compiler", "runtime", "validate.py")
# name -> (element text, datatype, rank: flat or arrays of one). A float object is 24 bytes and a list slot 8
# for every 4 to 10 bytes of file; an array of one element adds a list object of 64 bytes per 4 bytes.
FORMS: dict[str, tuple[bytes, str, int]] = {
    "fp32": (b"-12.3456, ", "FP32", 1),
    "short": (b"0.5,", "FP32", 1),
    "nested": (b"[7],", "INT8", 2),
}


def write_request(path: str, size: int, form: str = "fp32") -> int:
    """A valid request of about ``size`` bytes, written in pieces (never held whole); its real size."""
    element, dtype, rank = FORMS[form]
    count = max(1, size // len(element))
    shape = [count, 1][:rank]
    head = json.dumps({"id": "big", "inputs": [{"name": "x", "shape": shape, "datatype": dtype}]})
    with open(path, "wb") as fh:
        fh.write(head[: -len("}]}")].encode() + b', "data": [')
        block = element * 100_000
        left = count - 1
        while left > 0:
            take = min(left, 100_000)
            fh.write(block if take == 100_000 else element * take)
            left -= take
        fh.write(element.rstrip(b", ") + b"]}]}")
    return os.path.getsize(path)


def peak_rss(args: list[str]) -> tuple[int, int]:
    """(exit code, peak RSS in bytes) of ``python validate.py ARGS`` with its output discarded."""
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen([sys.executable, VALIDATE, *args], stdout=null, stderr=null)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss * 1024


def measure(root: str, size_mb: int, lifted: bool, form: str = "fp32") -> None:
    src = os.path.join(root, "src")
    rejected = os.path.join(root, "rejected")
    for folder in (src, rejected):
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
    size = write_request(os.path.join(src, "big.json"), size_mb << 20, form)
    args = ["request", src, "--valid", src, "--rejected", rejected, "--jobs", "1"]
    if lifted:
        args += ["--max-file-bytes", str(size + 1)]
    code, peak = peak_rss(args)
    verdict = "valid" if code == 0 else "rejected"
    mode = "limit lifted" if lifted else "default limit"
    print(
        f"  {form:6}  {size / 2**20:7.1f} MB  {mode:13}  {verdict:8}  peak RSS {peak / 2**20:7.0f} MB"
        f"  {peak / size:7.2f}x the file",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes-mb", default="8,16,32,64,100", help="sizes checked with the limit lifted")
    parser.add_argument("--refused-mb", default="100,500", help="sizes checked under the default limit")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; one request per row, validate.py --jobs 1")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as root:
        measure(root, 0, lifted=False)  # the floor: an interpreter with the checks loaded and a tiny file
        for size in (int(s) for s in args.sizes_mb.split(",") if s):
            measure(root, size, lifted=True)
        for form in ("short", "nested"):
            for size in (8, 32):
                measure(root, size, lifted=True, form=form)
        for size in (int(s) for s in args.refused_mb.split(",") if s):
            measure(root, size, lifted=False)


if __name__ == "__main__":
    main()
