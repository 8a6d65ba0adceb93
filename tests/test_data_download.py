"""Downloads in picaboo.readers against an HTTP server on 127.0.0.1 that serves files the test makes (no outside network)."""
import functools
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from picaboo import readers
from picaboo.cli import main

BOOK = "The Project Gutenberg eBook of Tiny\n\n*** START OF THE PROJECT GUTENBERG EBOOK TINY ***\n\nOnce upon a time.\n\n*** END OF THE PROJECT GUTENBERG EBOOK TINY ***\nLicence text.\n"
PLAY = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    "Requests to 127.0.0.1 must not go through a proxy the environment may name."
    for name in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(tmp_path):
    "Serve a folder with a fake tiny Shakespeare and a Gutenberg book (txt and epub); yields (base_url, root)."
    root = tmp_path / "www"
    (root / "cache" / "epub" / "1234").mkdir(parents=True)
    (root / "input.txt").write_text(PLAY, encoding="utf-8")
    (root / "cache" / "epub" / "1234" / "pg1234.txt").write_bytes(BOOK.replace("\n", "\r\n").encode("utf-8"))
    readers.write_epub("# Chapter 2\n\nOnce upon a time.", root / "cache" / "epub" / "1234" / "pg1234-images-3.epub", "Tiny")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown(); httpd.server_close()


def closed_port_url() -> str:
    "A URL on a local port nobody listens on: what being offline looks like to urllib."
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/input.txt"


def test_tiny_shakespeare_checked_and_cached(server, tmp_path):
    base, root = server
    sha = hashlib.sha256(PLAY.encode()).hexdigest()
    path = readers.download_tiny_shakespeare(tmp_path / "cache", url=f"{base}/input.txt", sha256=sha)
    assert path.read_text(encoding="utf-8") == PLAY and path.name == "tiny_shakespeare.txt"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left
    (root / "input.txt").unlink()  # a second call must not need the server
    assert readers.download_tiny_shakespeare(tmp_path / "cache", url=f"{base}/input.txt", sha256=sha) == path


def test_pinned_sha256_refuses_other_files(server, tmp_path):
    base, _ = server
    with pytest.raises(OSError, match="expected 86c4e6aa") as e:  # the real file's pinned sha256
        readers.download_tiny_shakespeare(tmp_path / "cache", url=f"{base}/input.txt")
    assert "\n" not in str(e.value)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())  # nothing saved


def test_pinned_sha256_is_the_char_rnn_file():
    assert readers.TINY_SHAKESPEARE_SHA256 == "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
    assert readers.TINY_SHAKESPEARE_URL.endswith("karpathy/char-rnn/master/data/tinyshakespeare/input.txt")


def test_gutenberg_txt_is_stripped(server, tmp_path):
    base, _ = server
    path = readers.download_gutenberg(1234, cache_dir=tmp_path / "cache", base_url=base)
    assert path.read_text(encoding="utf-8") == "Once upon a time.\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["gutenberg_pg1234.txt"]  # raw download removed
    assert readers.load_documents(path)[0].text == "Once upon a time.\n"


def test_gutenberg_epub_reads(server, tmp_path):
    base, _ = server
    path = readers.download_gutenberg("1234", fmt="epub", cache_dir=tmp_path, base_url=base)
    assert path.suffix == ".epub" and readers.read_epub(path) == "Chapter 2\n\nOnce upon a time."


def test_missing_book_is_one_line(server, tmp_path):
    base, _ = server
    with pytest.raises(OSError, match=r"cannot download .*/cache/epub/99/pg99\.txt: HTTP 404") as e:
        readers.download_gutenberg(99, cache_dir=tmp_path, base_url=base)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="book id is a number"): readers.download_gutenberg("pride", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="'txt' or 'epub'"): readers.download_gutenberg(1, fmt="pdf", cache_dir=tmp_path)


def test_offline_is_one_line(tmp_path):
    url = closed_port_url()
    with pytest.raises(OSError, match="cannot download .*offline") as e:
        readers.download(url, tmp_path / "x.txt", timeout=5)
    assert "\n" not in str(e.value) and not (tmp_path / "x.txt").exists()


def test_cli_download(server, tmp_path, capsys):
    base, _ = server
    assert main(["data", "download", "gutenberg", "1234", "--base-url", base, "--cache-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "gutenberg_pg1234.txt")
    assert main(["data", "download", "gutenberg", "1", "--base-url", closed_port_url().rsplit("/", 1)[0],
                 "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("picaboo data: error: cannot download") and err.count("\n") == 1
