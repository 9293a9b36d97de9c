"""The student script: change BACKEND, nothing else.

Run: python examples/quickstart.py [designer|sdk|automl]
"""

from __future__ import annotations

import sys

from cloudml_edu import Dataset, Endpoint, Trainer, Workspace

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "designer"

ws = Workspace.local()  # or Workspace.from_config("cloudml.toml") for Azure / Databricks
dataset = Dataset.sample("digits", "data/digits").upload(ws)

trainer = Trainer(BACKEND, workspace=ws, timeout_minutes=1)
print(trainer.plan(dataset))  # what would run, and what it would cost
run = trainer.fit(dataset)
assert run.metrics is not None
print(f"{BACKEND}: accuracy {run.metrics.accuracy:.3f}, F1 macro {run.metrics.f1_macro:.3f}")

_, test = dataset.split(seed=0)
held_out = [data for _, data in list(test.iter_bytes())[:5]]
with Endpoint.deploy(run, workspace=ws, name=f"digits-{BACKEND}", replace=True) as endpoint:
    for prediction, record in zip(endpoint.predict(held_out), test.records, strict=False):
        print(
            f"{record.path}: true {record.label}, predicted {prediction.label} ({prediction.score:.2f})"
        )
