"""The job cluster of an ``automl`` run: single node, single user, the runtime's image, nothing installed.

:func:`cluster_spec` builds the ``new_cluster`` of the submit body and merges a
student's ``backend_options["new_cluster"]`` into it *deeply*, so extra Spark
settings keep the single-node ones.  Spark settings that carry a credential must
be secret-scope references (``{{secrets/<scope>/<key>}}``): a plain key would
sit in the job's definition for every workspace user to read, so it is refused.
"""

from __future__ import annotations

import re
from typing import Any

from cloudml_edu.errors import ConfigError

__all__ = ["SECRET_REFERENCE", "cluster_spec", "deep_merge", "reads_account"]

SECRET_REFERENCE = re.compile(r"^\{\{secrets/[^/{}]+/[^/{}]+\}\}$")
_SECRET_KEY = re.compile(
    r"account\.key|\.sas\.|sas\.token|secret|password|token|credential", re.IGNORECASE
)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, nested mappings merged key by key (neither is changed)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_secrets(cluster: dict[str, Any]) -> None:
    for section in ("spark_conf", "spark_env_vars"):
        for key, value in (cluster.get(section) or {}).items():
            if _SECRET_KEY.search(key) and not SECRET_REFERENCE.match(str(value)):
                raise ConfigError(
                    f'backend_options["new_cluster"]["{section}"]["{key}"] holds a plain secret: '
                    "store it in a secret scope and write {{secrets/<scope>/<key>}} instead "
                    "(a workspace admin creates the scope; `databricks secrets put-secret` adds the key)"
                )


def cluster_spec(
    *, spark_version: str, node_type_id: str, single_user: str, owner: str, extra: dict[str, Any]
) -> dict[str, Any]:
    """The ``new_cluster`` body: a single-node, single-user cluster, ``extra`` merged deeply."""
    base: dict[str, Any] = {
        "spark_version": spark_version,
        "node_type_id": node_type_id,
        "num_workers": 0,
        "data_security_mode": "SINGLE_USER",
        "single_user_name": single_user,
        "spark_conf": {
            "spark.databricks.cluster.profile": "singleNode",
            "spark.master": "local[*, 4]",
        },
        "custom_tags": {"ResourceClass": "SingleNode", "cloudml-owner": owner},
    }
    if not isinstance(extra, dict):
        raise ConfigError(
            'backend_options["new_cluster"] must be a mapping of cluster settings, '
            f"not {type(extra).__name__}"
        )
    cluster = deep_merge(base, extra)
    _check_secrets(cluster)
    return cluster


def reads_account(cluster: dict[str, Any], account: str) -> bool:
    """Whether the cluster's Spark settings give it credentials for ``account``'s ``abfss://``."""
    host = f"{account}.dfs.core.windows.net"
    return any(host in key for key in (cluster.get("spark_conf") or {}))
