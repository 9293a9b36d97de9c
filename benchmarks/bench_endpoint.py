"""Latency of ``Endpoint.predict`` against a bare MLflow model server and a bare HTTP client.

One run trains a model on the digits sample, serves it twice (once with
``Endpoint.deploy``, once with a raw ``mlflow models serve`` subprocess) and
alternates single-image requests: ``ep.predict([path])`` (read the file,
base64, JSON, POST, parse into Predictions) against ``requests.post`` of a
prebuilt body on a kept-alive session.  Prints p50/p95 and the ratio of the
p50s; exits 1 when ours is above ``--target`` times the raw p50.

    python benchmarks/bench_endpoint.py [--requests 200] [--target 1.2]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from cloudml_edu import Dataset, Endpoint, Trainer, Workspace
from cloudml_edu.backends.local.server import free_port
from cloudml_edu.scoring import parse_response, request_body


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _raw_server(model_uri: str, tracking_uri: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": tracking_uri,
    }
    command = [str(bin_dir / "mlflow"), "models", "serve", "-m", model_uri]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/ping", timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the raw server at {url} did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--target", type=float, default=1.2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dataset = Dataset.sample("digits", root / "digits", progress=False)
        ws = Workspace.local(root / "ws")
        run = Trainer("designer", workspace=ws, progress=False).fit(dataset)
        assert run.model is not None
        image = root / "digits" / dataset.records[0].path
        body = json.dumps(
            {
                "dataframe_split": {
                    "columns": ["image"],
                    "data": [[base64.b64encode(image.read_bytes()).decode()]],
                }
            }
        )

        started = time.perf_counter()
        endpoint = Endpoint.deploy(run, workspace=ws, name="bench", progress=False)
        deploy_s = time.perf_counter() - started
        port = free_port()
        raw_url = f"http://127.0.0.1:{port}"
        raw = _raw_server(run.model, ws.tracking_uri, port, root / "raw.log")
        try:
            _wait(raw_url)
            session = requests.Session()
            headers = {"Content-Type": "application/json"}
            ours: list[float] = []
            bare: list[float] = []
            for i in range(args.requests + 10):  # the first 10 of each warm up
                t0 = time.perf_counter()
                endpoint.predict([image])
                t1 = time.perf_counter()
                response = session.post(
                    f"{raw_url}/invocations", data=body, headers=headers, timeout=30
                )
                t2 = time.perf_counter()
                response.raise_for_status()
                if i >= 10:
                    ours.append((t1 - t0) * 1000)
                    bare.append((t2 - t1) * 1000)
            payload = response.json()
            t0 = time.perf_counter()
            for _ in range(1000):
                request_body([image])
                parse_response(payload)
            client_ms = time.perf_counter() - t0  # seconds for 1000 calls = ms per call
        finally:
            endpoint.delete()
            raw.terminate()
            raw.wait(timeout=30)

    ratio = _percentile(ours, 50) / _percentile(bare, 50)
    print(f"{args.requests} single-image requests each, alternating; deploy: {deploy_s:.1f} s")
    print(f"{'client':<36}{'p50 ms':>10}{'p95 ms':>10}")
    for label, values in (
        ("Endpoint.predict([path])", ours),
        ("raw requests.post, prebuilt body", bare),
    ):
        print(f"{label:<36}{_percentile(values, 50):>10.2f}{_percentile(values, 95):>10.2f}")
    print(f"client-side work per call (read, encode, parse): {client_ms:.3f} ms")
    print(f"p50 ratio ours/raw: {ratio:.2f} (target <= {args.target})")
    return 0 if ratio <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
