"""Test helpers for course tooling and students' own tests (a pytest plugin is registered).

The plugin gives every test suite that installs cloudml-edu the fixtures in
:mod:`cloudml_edu.testing.plugin`; nothing here imports a cloud SDK at import time.
"""
