"""`python -m hostnet_lab up|down|status|exec|host-exec|blackhole`."""

import sys

from hostnet_lab import main

sys.exit(main())
