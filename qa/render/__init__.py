"""Answers, passages and citations shown as JSON, terminal text and rendered PDF pages."""
