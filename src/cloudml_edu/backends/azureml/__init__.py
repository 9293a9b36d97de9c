"""The Azure ML adapter: ``designer`` and ``sdk`` training and ``azureml`` endpoints.

The only package that imports ``azure.ai.ml`` (always inside functions, so
``import cloudml_edu`` stays light).  :mod:`.connection` makes the one
``MLClient`` of a workspace; :mod:`.assets` ensures the data asset, compute and
code snapshot a job needs; :mod:`.jobs` builds the command and pipeline jobs;
:mod:`.backend` submits and follows them; :mod:`.endpoints` serves models.
"""
