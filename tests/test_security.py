"""The served UI: loopback by default, no files served from the index, the corpus or the system."""

import urllib.error
import urllib.request

import pytest

from qa.app.web import serve


@pytest.mark.slow
@pytest.mark.parametrize("path", ["{index}/manifest.json", "/etc/passwd", "{index}/../../../../etc/passwd"])
def test_files_are_not_served(ui_server, index_dir, path):
    target = path.format(index=index_dir)
    for route in (f"gradio_api/file={target}", f"file={target}"):
        try:
            status = urllib.request.urlopen(ui_server + route, timeout=5).status
        except urllib.error.HTTPError as error:
            status = error.code
        assert status in (403, 404), (route, status)


def test_the_default_host_is_loopback():
    import inspect

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
