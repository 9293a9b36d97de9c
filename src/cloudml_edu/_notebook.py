"""Rich output in notebooks: the HTML (and short plain text) behind each class's repr.

Jupyter, Azure ML notebooks and Databricks notebooks call ``_repr_html_`` on the
last value of a cell; the classes (``Dataset``, ``TrainingRun``, ``Metrics``,
``Plan``, ``Endpoint``, ``Comparison``) each have a one-line method that calls a
builder here, so the markup lives in one place.  Every piece of user text (class
names, paths, error messages, URLs) goes through :func:`html.escape`; only
``http(s)`` URLs become links.  Nothing here imports the facade modules: they
import this module, inside their methods.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudml_edu.datasets import Dataset
    from cloudml_edu.endpoint import Endpoint
    from cloudml_edu.metrics import Metrics
    from cloudml_edu.report.comparison import Comparison
    from cloudml_edu.run import Plan, TrainingRun

__all__ = [
    "comparison_html",
    "dataset_html",
    "endpoint_html",
    "metrics_html",
    "metrics_repr",
    "plan_html",
    "plan_repr",
    "run_html",
    "run_repr",
]

#: How many thumbnails a dataset shows (one per class, first classes first).
THUMBNAILS = 10
THUMBNAIL_PX = 48
#: How many AutoML trials a run shows (best first).
TRIALS_SHOWN = 8

_STYLE = (
    "<style>"
    ".cml{font-family:system-ui,sans-serif;font-size:13px;line-height:1.4}"
    ".cml table{border-collapse:collapse;margin:4px 0 8px}"
    ".cml th,.cml td{padding:2px 8px;text-align:left;border-bottom:1px solid #ddd}"
    ".cml td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".cml .tag{display:inline-block;padding:0 6px;border-radius:3px;color:#fff}"
    ".cml .Completed,.cml .live{background:#2e7d32}.cml .Failed,.cml .failed,.cml .dead{background:#c62828}"
    ".cml .Running,.cml .creating,.cml .NotStarted{background:#1565c0}.cml .Canceled,.cml .unknown{background:#757575}"
    ".cml img.thumb{width:48px;height:48px;image-rendering:pixelated;border:1px solid #ccc;margin:2px}"
    ".cml figure{display:inline-block;margin:0 4px;text-align:center}"
    ".cml figcaption{font-size:11px;color:#555}"
    ".cml .bar{display:inline-block;height:8px;background:#5c6bc0}"
    "</style>"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _box(title: str, *parts: str) -> str:
    return f'<div class="cml">{_STYLE}<b>{title}</b>{"".join(parts)}</div>'


def _tag(status: str) -> str:
    safe = _e(status)
    return f'<span class="tag {safe}">{safe}</span>'


def _link(url: str, text: str | None = None) -> str:
    """A link for http(s) URLs; anything else (paths, runs:/ URIs) as escaped code."""
    label = _e(text or url)
    if url.startswith(("https://", "http://")):
        return f'<a href="{_e(url)}" target="_blank" rel="noopener">{label}</a>'
    return f"<code>{label}</code>"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: set[int]) -> str:
    """A table of already escaped cells; columns in ``numeric`` align right."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="cml"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _fields(pairs: Iterable[tuple[str, str]]) -> str:
    """A two-column table of (escaped name, HTML value)."""
    return (
        '<table class="cml">'
        + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in pairs)
        + "</table>"
    )


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "—" if value is None else format(value, fmt)


def _money(value: float | None) -> str:
    return "—" if value is None else f"${value:.4f}" if 0 < value < 0.01 else f"${value:.2f}"


# ---- Dataset --------------------------------------------------------------------------------


def thumbnail(data: bytes, *, size: int = THUMBNAIL_PX) -> str | None:
    """A small PNG of an image as a ``data:`` URI; None when the bytes do not decode."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((size, size))
            out = io.BytesIO()
            image.convert("RGB" if image.mode not in {"L", "RGB"} else image.mode).save(out, "PNG")
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _thumbnails(ds: Dataset) -> str:
    """One image of each of the first classes; none when the source cannot be read."""
    first: dict[str, Any] = {}
    for record in ds.records:
        if record.label not in first and len(first) < THUMBNAILS:
            first[record.label] = record
    try:
        pictures = [
            (record, thumbnail(data)) for record, data in ds.source.iter_bytes(list(first.values()))
        ]
    except Exception:  # a repr must not fail because the store is unreachable
        return ""
    figures = "".join(
        f'<figure><img class="thumb" src="{uri}" alt="{_e(record.path)}">'
        f"<figcaption>{_e(record.label)}</figcaption></figure>"
        for record, uri in pictures
        if uri is not None
    )
    return f"<div>{figures}</div>" if figures else ""


def dataset_html(ds: Dataset) -> str:
    """Name, size, source, a few thumbnails and the images per class (with bars)."""
    counts = ds.counts()
    most = max(counts.values(), default=1)
    rows = [
        (_e(label), str(n), f'<span class="bar" style="width:{round(80 * n / most)}px"></span>')
        for label, n in counts.items()
    ]
    version = f" v{_e(ds.manifest.version)}" if ds.manifest.version else ""
    return _box(
        f"Dataset {_e(ds.name)}{version}: {len(ds)} images, {len(counts)} classes",
        f"<div>source <code>{_e(ds.source.location)}</code></div>",
        _thumbnails(ds),
        _table(("class", "images", ""), rows, numeric={1}),
    )


# ---- Plan -----------------------------------------------------------------------------------


def plan_repr(plan: Plan) -> str:
    return (
        f"Plan(backend={plan.backend!r}, target={plan.target!r}, dataset={plan.dataset!r}, "
        f"steps={len(plan.steps)}, compute='{plan.nodes} x {plan.compute_sku}', "
        f"minutes={plan.estimated_minutes:.1f}, cost_usd={plan.estimated_cost_usd:.2f})"
    )


def plan_html(plan: Plan) -> str:
    """What ``fit`` would do: compute, time and cost, then each step (request in a fold)."""
    summary = _fields(
        [
            ("compute", f"{plan.nodes} × {_e(plan.compute_sku)}"),
            ("estimated time", f"{plan.estimated_minutes:.1f} min"),
            ("estimated cost", _money(plan.estimated_cost_usd)),
            ("prices", _e(plan.price_source or "—")),
        ]
    )
    rows = []
    for number, step in enumerate(plan.steps, 1):
        detail = ""
        if step.detail:
            text = json.dumps(step.detail, indent=2, default=str)
            detail = f"<details><summary>request</summary><pre>{_e(text)}</pre></details>"
        rows.append((str(number), _e(step.name), _e(step.action) + detail))
    return _box(
        f"Plan: {_e(plan.backend)} on {_e(plan.target)} for {_e(plan.dataset)}",
        summary,
        _table(("#", "step", "action"), rows, numeric={0}),
    )


# ---- Metrics --------------------------------------------------------------------------------

_SCALARS = (
    ("accuracy", "accuracy"),
    ("f1_macro", "F1 macro"),
    ("precision_macro", "precision macro"),
    ("recall_macro", "recall macro"),
    ("f1_weighted", "F1 weighted"),
    ("log_loss", "log loss"),
)


def metrics_repr(metrics: Metrics) -> str:
    values = ", ".join(
        f"{name}={getattr(metrics, name):.4f}"
        for name, _ in _SCALARS
        if getattr(metrics, name) is not None
    )
    return f"Metrics({values}, n_test={metrics.n_test}, classes={len(metrics.labels)})"


def _confusion(metrics: Metrics) -> str:
    """The confusion matrix, each cell shaded by its share of the true class."""
    if not metrics.confusion_matrix:
        return ""
    labels = metrics.labels or [str(i) for i in range(len(metrics.confusion_matrix))]
    head = "<th>true \\ predicted</th>" + "".join(f"<th>{_e(label)}</th>" for label in labels)
    body = []
    for i, (label, row) in enumerate(zip(labels, metrics.confusion_matrix, strict=False)):
        total = sum(row) or 1
        cells = "".join(
            f'<td class="n" style="background:rgba({"46,125,50" if i == j else "198,40,40"},'
            f'{0.1 + 0.8 * n / total if n else 0:.2f})">{n}</td>'
            for j, n in enumerate(row)
        )
        body.append(f"<tr><th>{_e(label)}</th>{cells}</tr>")
    return (
        "<div>confusion matrix (rows: true label)</div>"
        f'<table class="cml"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def metrics_html(metrics: Metrics) -> str:
    """The scalar metrics, test size, time and cost, then the confusion matrix."""
    pairs = [(label, _num(getattr(metrics, name), ".4f")) for name, label in _SCALARS]
    pairs += [
        ("train / test images", f"{metrics.n_train} / {metrics.n_test}"),
        ("train time", f"{metrics.train_seconds:.1f} s"),
        ("compute", f"{metrics.compute.nodes} × {_e(metrics.compute.sku)}"),
        ("cost", _money(metrics.cost_usd)),
    ]
    return _box("Metrics", _fields(pairs), _confusion(metrics))


# ---- TrainingRun ----------------------------------------------------------------------------


def run_repr(run: TrainingRun) -> str:
    accuracy = "" if run.metrics is None else f", accuracy={run.metrics.accuracy:.4f}"
    return (
        f"TrainingRun(id={run.id!r}, backend={run.backend!r}, target={run.target!r}, "
        f"status={run.status!r}{accuracy})"
    )


def _run_links(run: TrainingRun) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    remote: Any = getattr(run, "remote", None)  # RemoteJob of a cloud run (run store)
    if remote is not None and remote.url:
        links.append((f"{_e(remote.service)} job", _link(remote.url, remote.name)))
    if run.model:
        links.append(("model", _link(run.model)))
    if run.tracking_uri:
        links.append(("MLflow", _link(run.tracking_uri)))
    return links


def _run_parts(run: TrainingRun) -> str:
    """Designer steps, the sdk job, or AutoML trials (best first)."""
    parts = []
    if run.steps:
        rows = [
            (
                _link(url, step.name) if (url := getattr(step, "url", "")) else _e(step.name),
                _e(step.component),
                _tag(step.status),
                f"{step.seconds:.2f}",
                _e(", ".join(f"{k}={v}" for k, v in step.params.items())),
            )
            for step in run.steps
        ]
        parts.append(_table(("step", "component", "status", "s", "parameters"), rows, numeric={3}))
    if run.job is not None:
        job = run.job
        parts.append(
            _fields(
                [
                    ("command", f"<code>{_e(' '.join(job.command))}</code>"),
                    ("exit code", _e(job.exit_code)),
                    ("log", _link(job.log_path) if job.log_path else "—"),
                    ("job time", f"{job.seconds:.1f} s"),
                ]
            )
        )
    if run.trials:
        ranked = sorted(run.trials, key=lambda t: (t.score is None, -(t.score or 0.0)))
        rows = [
            (
                str(t.number),
                _e(t.family),
                _num(t.score, ".4f"),
                f"{t.seconds:.2f}",
                _e(t.error or ", ".join(f"{k}={v}" for k, v in t.params.items())),
            )
            for t in ranked[:TRIALS_SHOWN]
        ]
        more = len(run.trials) - TRIALS_SHOWN
        note = f"<div>… and {more} more trials</div>" if more > 0 else ""
        parts.append(
            f"<div>{len(run.trials)} trials, best first</div>"
            + _table(("#", "family", "score", "s", "parameters"), rows, numeric={0, 2, 3})
            + note
        )
    return "".join(parts)


def run_html(run: TrainingRun) -> str:
    """Status, what ran where, headline metrics, steps / job / trials, and links."""
    metrics = run.metrics
    pairs = [
        ("status", _tag(run.status)),
        ("id", f"<code>{_e(run.id)}</code>"),
        ("dataset", _e(run.dataset or "—")),
        ("wall time", f"{run.seconds:.1f} s"),
    ]
    if metrics is not None:
        pairs += [
            ("accuracy", _num(metrics.accuracy, ".4f")),
            ("F1 macro", _num(metrics.f1_macro, ".4f")),
            ("cost", _money(metrics.cost_usd)),
        ]
    if run.error:
        pairs.append(("error", f"<pre>{_e(run.error)}</pre>"))
    pairs += _run_links(run)
    owner = f" ({_e(run.owner)})" if run.owner else ""
    return _box(
        f"TrainingRun: {_e(run.backend)} on {_e(run.target)}{owner}",
        _fields(pairs),
        _run_parts(run),
    )


# ---- Endpoint -------------------------------------------------------------------------------


def endpoint_html(endpoint: Endpoint) -> str:
    """Name, target, URL, state (as last seen: no request), model and hourly cost."""
    record = endpoint.record
    state = str(endpoint.state or "unknown")
    hourly = getattr(record, "hourly_usd", None)
    pairs = [
        ("target", _e(getattr(record, "target", "local"))),
        ("state", _tag(state)),
        ("URL", _link(endpoint.url)),
        ("model", _link(endpoint.model_uri)),
        ("cost per hour", "free (this machine)" if not hourly else _money(hourly)),
    ]
    return _box(f"Endpoint {_e(endpoint.name)}", _fields(pairs))


# ---- Comparison -----------------------------------------------------------------------------


def comparison_html(comparison: Comparison, *, legend: str) -> str:
    """The comparison table (best row bold, estimate rows grey) with its legend (what the
    short headers mean)."""
    table = (
        comparison.to_html()
        .replace('class="best"', 'style="font-weight:bold"')
        .replace('class="estimate"', 'style="color:#666"')
    )
    return _box(
        f"{len(comparison)} runs compared", table, f"<div><small>{_e(legend)}</small></div>"
    )
