"""Ranking passages for a question: dense, BM25 and their fusion."""
