"""The served UI: loopback by default, no files served from the index, the corpus or the system."""

import urllib.error
import urllib.request

import pytest



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


@pytest.mark.slow
def test_qa_serve_listens_on_loopback_only_by_default(ui_server):
    """`qa serve` started without --host: reachable on 127.0.0.1, refused on the machine's other address."""
    import socket
    from urllib.parse import urlparse

    port = urlparse(ui_server).port
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outward interface
        outward = probe.getsockname()[0]
    if outward.startswith("127."):
        pytest.skip("this machine has no address besides loopback")
    with pytest.raises(OSError):
        socket.create_connection((outward, port), timeout=5).close()
