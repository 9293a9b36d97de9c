"""Import cost: `import cloudml_edu` vs `import azure.ai.ml`, and `cloudml-edu --help`, alternating.

Target: cloudml_edu at most 10% of azure.ai.ml; `--help` under 0.5 s.
Run: .venv/bin/python benchmarks/bench_import.py [rounds]
"""

from __future__ import annotations

import sys

from _util import BIN, median, table, wall

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 7


def main() -> None:
    python = sys.executable
    cases = {
        "import cloudml_edu": [python, "-c", "import cloudml_edu"],
        "import azure.ai.ml": [python, "-c", "import azure.ai.ml"],
        "python -c pass (interpreter start)": [python, "-c", "pass"],
        "cloudml-edu --help": [str(BIN / "cloudml-edu"), "--help"],
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for cmd in cases.values():  # warm the file cache once
        wall(cmd)
    for _ in range(ROUNDS):
        for name, cmd in cases.items():
            times[name].append(wall(cmd))
    rows = [("command", "median s", "min s")]
    rows += [(name, f"{median(t):.3f}", f"{min(t):.3f}") for name, t in times.items()]
    print(table(rows))
    ratio = median(times["import cloudml_edu"]) / median(times["import azure.ai.ml"])
    print(f"\nimport cloudml_edu / import azure.ai.ml = {ratio:.1%} (target <= 10%)")
    print(f"cloudml-edu --help median {median(times['cloudml-edu --help']):.3f} s (target < 0.5 s)")


if __name__ == "__main__":
    main()
