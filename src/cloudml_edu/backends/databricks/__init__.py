"""The Databricks adapter: AutoML training, hive metastore tables and Model Serving.

The only package that imports ``databricks.sdk``, always inside functions, so
``import cloudml_edu`` stays light.  Modules: :mod:`.connection` (one
``WorkspaceClient`` per workspace, errors), :mod:`.tables` (SQL on a warehouse),
:mod:`.automl` (the ``automl`` backend), :mod:`.endpoint` (the ``databricks``
endpoint provider and what ``cloudml-edu cleanup`` removes).
"""
