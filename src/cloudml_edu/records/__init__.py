"""The records: plain data every layer may import (the bottom layer above the plumbing).

:mod:`.plan` (a dry run and its steps), :mod:`.run` (a run with its steps,
trials and job), :mod:`.endpoint` (an endpoint, what a cloud bills for) and
:mod:`.metrics` (one schema for every backend).  Adapters build and update
these; the facade (``TrainingRun``, ``Endpoint``) holds them; the run store and
the endpoint registry keep them as JSON.  Nothing here sends a request or
imports an adapter.  This ``__init__`` imports nothing, so the training code a
cloud job runs (on the job image's Python) pulls in :mod:`.metrics` alone.
"""
