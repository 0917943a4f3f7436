"""Answering: from the retrieved passages (``Hit``) to a cited ``Answer``.

``extractive`` is the default answerer; ``questions`` reads what a question asks for, ``coverage``
what the evidence leaves out, and ``support`` checks that a cited passage supports a statement.
"""
