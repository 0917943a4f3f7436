"""Cited question answering over a folder of medical documents."""

__version__ = "0.1.0"
