"""A toy fourth target, added from outside ``src/cloudml_edu`` (see docs/architecture.md).

Its cloud is this machine: the ``sdk`` trainer and the endpoint provider reuse the
local machinery under the name ``toy``, so a test exercises every place a target
plugs in (entry point, config section, trainer, endpoint provider, cleanup,
price basis) without an account.
"""
