"""MLflow "models from code" entry: the serving side builds the model from this file.

Where the model is served, ``cloudml_edu`` is the small copy of the model's own
code shipped in the model's ``code/`` folder, not the installed library.
"""

from mlflow.models import set_model

from cloudml_edu.training.served import ImageClassifier

set_model(ImageClassifier())
