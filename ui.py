"""The chat UI. `python ui.py` (or `qa serve`, or `make run`) serves it at http://127.0.0.1:7860.

A thin layer: the Blocks live in qa/app/web.py and every callback in qa/app/web_logic.py.
"""

from qa.app.cli import main

if __name__ == "__main__":
    main(["serve"])
