"""Answering: from the retrieved passages (``Hit``) to a cited ``Answer``.

``extractive`` is the default answerer: ``unit_table`` and ``query`` prepare the index's units and the
question's terms, ``signals`` computes what the fitted ``model`` weighs, ``statements`` turns chosen units
into quotable statements and ``decline`` says why it declines. ``llm`` is the optional LLM answerer,
``grounding`` holds its reply to the passages, and ``support`` checks that a passage supports a statement.
"""
