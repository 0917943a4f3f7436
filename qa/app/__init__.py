"""The user-facing surfaces: the `qa` command and the Gradio web page."""
