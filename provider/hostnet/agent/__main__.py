"""``python -m hostnet.agent``: serve on stdin/stdout (local runs and tests)."""

from .main import main

main()
