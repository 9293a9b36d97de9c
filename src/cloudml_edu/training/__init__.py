"""The machine learning itself: features, models, evaluation and the MLflow model.

Every backend trains through these functions, locally and inside cloud jobs,
so results differ by backend only where the backend's own choices differ.
Run ``python -m cloudml_edu.training --help`` for the job entry point.
"""
