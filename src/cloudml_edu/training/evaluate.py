"""Score a fitted model on the test split and express the result as :class:`Metrics`."""

from __future__ import annotations

from collections.abc import Sequence

from cloudml_edu.records.metrics import ClassReport, Compute, Metrics
from cloudml_edu.training.scores import Scores, score

__all__ = ["Scores", "evaluate", "score"]


def evaluate(
    truth: Sequence[str],
    scores: Scores,
    *,
    n_train: int,
    train_seconds: float,
    compute: Compute | None = None,
    cost_usd: float = 0.0,
) -> Metrics:
    """Accuracy, macro and weighted precision/recall/F1, log loss, confusion matrix, per class."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        log_loss,
        precision_recall_fscore_support,
    )

    labels = scores.labels
    y_true, y_pred = list(truth), scores.predicted
    averages: dict[str, tuple[float, float, float]] = {}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        averages[average] = (float(p), float(r), float(f))
    p_c, r_c, f_c, s_c = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    per_class = {
        label: ClassReport(
            precision=float(p_c[i]), recall=float(r_c[i]), f1=float(f_c[i]), support=int(s_c[i])
        )
        for i, label in enumerate(labels)
    }
    return Metrics(
        accuracy=float(accuracy_score(y_true, y_pred)),
        precision_macro=averages["macro"][0],
        recall_macro=averages["macro"][1],
        f1_macro=averages["macro"][2],
        precision_weighted=averages["weighted"][0],
        recall_weighted=averages["weighted"][1],
        f1_weighted=averages["weighted"][2],
        log_loss=float(log_loss(y_true, scores.probabilities, labels=labels)),
        labels=labels,
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        per_class=per_class,
        n_train=n_train,
        n_test=len(y_true),
        train_seconds=train_seconds,
        compute=compute or Compute(),
        cost_usd=cost_usd,
    )
