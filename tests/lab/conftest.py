"""Lab tests that drive a stack through the real Pulumi CLI use the e2e tests'
environment for it (an offline backend of the session's own)."""

from tests.e2e.conftest import pulumi_env

__all__ = ["pulumi_env"]
