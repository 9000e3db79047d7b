"""Apache Airflow provider for the TWIN messaging platform (twin24.ai)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
