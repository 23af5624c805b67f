"""Keel: run tabular machine-learning models as operated production systems."""

__version__ = "0.1.0"

__all__ = ["__version__"]
