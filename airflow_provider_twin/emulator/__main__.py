"""``python -m airflow_provider_twin.emulator``: run the TWIN emulator from the command line."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
