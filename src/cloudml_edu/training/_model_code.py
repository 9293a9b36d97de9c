"""MLflow "models from code" entry: the serving side builds the model from this file."""

from mlflow.models import set_model

from cloudml_edu.training.pyfunc import ImageClassifier

set_model(ImageClassifier())
