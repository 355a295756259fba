"""layers of granzsl_mm."""

__all__: list = []

from .gatv2 import GATv2, GATv2Layer  # noqa: E402

__all__ += ['GATv2', 'GATv2Layer']
