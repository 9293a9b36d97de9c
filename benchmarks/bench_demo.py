"""`cloudml-edu demo` end to end, in a fresh folder. Target: within 60 s.

Run: .venv/bin/python benchmarks/bench_demo.py
"""

from __future__ import annotations

import os
import tempfile

from _util import BIN, wall


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CLOUDML_NO_PROGRESS": "1"}
        seconds = wall([str(BIN / "cloudml-edu"), "demo"], cwd=tmp, env=env)
        print(f"cloudml-edu demo, fresh folder: {seconds:.1f} s (target <= 60 s)")
        again = wall([str(BIN / "cloudml-edu"), "demo"], cwd=tmp, env=env)
        print(f"cloudml-edu demo, second run in the same folder: {again:.1f} s")


if __name__ == "__main__":
    main()
