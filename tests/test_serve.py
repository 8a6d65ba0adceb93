"""`picaboo serve` as a real server in a subprocess on a free loopback port, checked from outside: the official
`openai` client (streamed and not), the wire format, every bad request, a client that hangs up mid-stream, a
slow reader beside a second client, a taken port, Ctrl-C, and the chat page in a headless Chromium.

The browser test needs Chromium at /usr/bin/chromium (Debian: `apt-get install chromium`; elsewhere point
PICABOO_CHROMIUM at a Chromium or Chrome) and Playwright's Python package (`pip install playwright`, no
browser download); without them it is skipped.
Set PICABOO_SCREENSHOT=nbs/images/serve.png to refresh the chapter's screenshot."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
QUESTION = [{"role": "user", "content": "What does a list comprehension do?"}]
SYSTEM = {"role": "system", "content": "You answer questions about Python."}

# `picaboo serve ...` through the command line's own error handling (picaboo.cli.run_command)
SERVE = """
import argparse
import sys
from picaboo.cli import run_command
from picaboo.cli_serve import add_cli
parser = argparse.ArgumentParser(prog="picaboo")
add_cli(parser.add_subparsers(dest="command"))
sys.exit(run_command(parser.parse_args(sys.argv[1:])))
"""

# A stand-in model behind the real server: "lookup" gets a lookup event and a short reply; anything else an
# endless reply, which prints "generation stopped" when the server stops it.
FAKE = """
import itertools
import logging
import time
from picaboo.serve import ChatService, listen, make_app, run_server

class Words:
    def encode_ordinary(self, text):
        return text.split()

def reply(model, tokenizer, messages, **settings):
    if messages[-1]["content"] == "lookup":
        yield {"name": "tuple", "found": "an immutable sequence"}
        yield "A tuple cannot change."
        return
    try:
        for i in itertools.count():
            time.sleep(0.01)
            yield f"word{i} "
    finally:
        print("generation stopped", flush=True)

logging.basicConfig(level=logging.INFO, format="picaboo serve: %(message)s")
sock = listen("127.0.0.1", 0)
print(f"picaboo serve: fake at http://127.0.0.1:{sock.getsockname()[1]}/", flush=True)
service = ChatService(None, Words(), "fake", reply=reply)
run_server(make_app(service), sock, service.closing)
print("picaboo serve: stopped", flush=True)
"""


class Server:
    "A server in a subprocess; reader threads collect its output lines (stdout and stderr, in `output`)."
    def __init__(self, code:str, *argv:str):
        self.proc = subprocess.Popen([sys.executable, "-c", code, *argv], cwd=ROOT, env=ENV, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stdout, self.stderr, self.output = [], [], []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True).start()

    def _read(self, stream, lines:list):
        for line in stream:
            lines.append(line.rstrip("\n"))
            self.output.append(line.rstrip("\n"))

    def wait_for(self, pattern:str, since:int=0, timeout:float=60) -> re.Match:
        "The first output line from `output[since]` on that matches `pattern`, waiting up to `timeout` seconds."
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.output[since:]:
                if match := re.search(pattern, line):
                    return match
            if self.proc.poll() is not None:
                time.sleep(0.2)  # the last lines may still be on their way
                deadline = min(deadline, time.time())
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r}; stdout: {self.stdout}; stderr: {self.stderr}")

    def start(self) -> "Server":
        self.url = self.wait_for(r"at (http://127\.0\.0\.1:\d+)/").group(1)
        return self

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="module")
def server():
    "The book's chat model behind `picaboo serve --port 0`."
    s = Server(SERVE, "serve", "--port", "0").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def fake():
    "The real server with a stand-in model (endless replies, lookup events)."
    s = Server(FAKE).start()
    yield s
    s.stop()


def post(url:str, body, timeout:float=60) -> tuple[int, dict]:
    "POST `body` (bytes, or JSON-able) and return the status and the decoded JSON reply."
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def open_stream(url:str, body:dict) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    "Start a streamed chat completion on a connection of its own; the caller reads (or not) and closes."
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", "/v1/chat/completions", json.dumps({**body, "stream": True}),
                 {"Content-Type": "application/json"})
    return conn, conn.getresponse()


def test_models_lists_the_served_model(server):
    with urllib.request.urlopen(f"{server.url}/v1/models", timeout=30) as r:
        models = json.loads(r.read())
    assert [m["id"] for m in models["data"]] == ["picaboo-tiny-chat"]


def test_the_openai_client_gets_the_same_reply_streamed_and_not(server):
    openai = pytest.importorskip("openai", reason="the openai client (dev extra)")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)
    whole = client.chat.completions.create(model="picaboo-tiny-chat", messages=QUESTION, max_tokens=40)
    text = whole.choices[0].message.content
    assert text and "<|" not in text and whole.choices[0].finish_reason in ("stop", "length")
    chunks = list(client.chat.completions.create(model="picaboo-tiny-chat", messages=QUESTION, max_tokens=40,
                                                 stream=True))
    assert len(chunks) > 3  # a role chunk, pieces of text, a finish chunk: it streamed
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason
    with pytest.raises(openai.NotFoundError, match="picaboo-tiny-chat"):
        client.chat.completions.create(model="gpt-4o", messages=QUESTION)
    with pytest.raises(openai.BadRequestError, match="role"):
        client.chat.completions.create(model="picaboo-tiny-chat", messages=[{"role": "tool", "content": "x"}])


def test_the_reply_is_the_chat_chapters_reply(server):
    from picaboo.chat import chat
    from picaboo.loading import load_model_and_tokenizer
    model, tokenizer = load_model_and_tokenizer("picaboo-tiny-chat")
    status, reply = post(f"{server.url}/v1/chat/completions", {"messages": QUESTION, "max_tokens": 40})
    assert status == 200
    assert reply["choices"][0]["message"]["content"] == chat(model, tokenizer, QUESTION, max_new_tokens=40)


def test_the_stream_is_server_sent_events(server):
    conn, r = open_stream(server.url, {"messages": QUESTION, "max_tokens": 20})
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/event-stream")
    events = [line for line in r.read().decode().split("\n\n") if line]
    conn.close()
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")


MESSAGE = {"role": "user", "content": "Hi"}
BAD_REQUESTS = {  # what is wrong -> (body, status, a word the one-line reason must hold)
    "malformed JSON": (b'{"messages": [', 400, "JSON"),
    "not an object": (b"[1, 2]", 400, "object"),
    "empty messages": ({"messages": []}, 400, "messages"),
    "no messages": ({"model": "picaboo-tiny-chat"}, 400, "messages"),
    "unknown role": ({"messages": [{"role": "tool", "content": "x"}]}, 400, "role"),
    "empty content": ({"messages": [{"role": "user", "content": ""}]}, 400, "content"),
    "content not text": ({"messages": [{"role": "user", "content": 42}]}, 400, "content"),
    "max_tokens 0": ({"messages": [MESSAGE], "max_tokens": 0}, 400, "max_tokens"),
    "max_tokens absurd": ({"messages": [MESSAGE], "max_tokens": 10**9}, 400, "max_tokens"),
    "temperature absurd": ({"messages": [MESSAGE], "temperature": 50}, 400, "temperature"),
    "body too big": ({"messages": [{"role": "user", "content": "x" * 70_000}]}, 400, "limit"),
    "system prompt too long for the context": (
        {"messages": [{"role": "system", "content": "Be brief. " * 300}, MESSAGE]}, 400, "tokens"),
    "unknown model": ({"model": "gpt-4o", "messages": [MESSAGE]}, 404, "picaboo-tiny-chat"),
}


@pytest.mark.parametrize("what", list(BAD_REQUESTS))
def test_a_bad_request_gets_one_line_in_openais_error_shape(server, what):
    body, status, word = BAD_REQUESTS[what]
    got, reply = post(f"{server.url}/v1/chat/completions", body)
    assert got == status, reply
    assert reply["error"]["type"] == "invalid_request_error"
    message = reply["error"]["message"]
    assert word in message and "\n" not in message and len(message) < 300, message


def test_a_form_post_and_a_rebound_host_name_are_refused(server):
    body = json.dumps({"messages": QUESTION}).encode()
    form = urllib.request.Request(f"{server.url}/v1/chat/completions", data=body,
                                  headers={"Content-Type": "text/plain"})  # what any web page may send
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(form, timeout=30)
    assert e.value.code == 400 and "Content-Type: application/json" in json.loads(e.value.read())["error"]["message"]
    port = server.url.rsplit(":", 1)[1]
    rebound = urllib.request.Request(f"{server.url}/v1/models", headers={"Host": f"evil.example:{port}"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(rebound, timeout=30)
    assert e.value.code == 403 and "evil.example" in json.loads(e.value.read())["error"]["message"]


def test_a_wrong_method_or_path_is_an_openai_error_too(server):
    request = urllib.request.Request(f"{server.url}/v1/chat/completions")  # GET
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request, timeout=30)
    assert e.value.code == 405 and json.loads(e.value.read())["error"]["type"] == "invalid_request_error"


def test_a_client_hanging_up_stops_its_generation(fake):
    mark = len(fake.output)
    conn, r = open_stream(fake.url, {"messages": [{"role": "user", "content": "Go on."}]})
    for _ in range(5):
        assert r.readline().startswith(b"data: ")
        r.readline()  # the blank line between events
    conn.sock.close()
    conn.close()
    fake.wait_for("generation stopped", mark, timeout=10)
    fake.wait_for(r"stopped a reply after \d+ pieces: the client went away", mark, timeout=10)


def test_a_slow_reader_does_not_freeze_the_server(fake, server):
    mark = len(fake.output)
    conn, r = open_stream(fake.url, {"messages": [{"role": "user", "content": "Go on."}]})  # never read
    try:
        start = time.time()
        with urllib.request.urlopen(f"{fake.url}/v1/models", timeout=10) as models:
            assert models.status == 200
        with urllib.request.urlopen(f"{fake.url}/", timeout=10) as page:
            assert b"picaboo chat" in page.read()
        assert time.time() - start < 5  # the event loop is free while the model works
    finally:
        conn.sock.close()
        conn.close()
    fake.wait_for("generation stopped", mark, timeout=10)
    slow, _ = open_stream(server.url, {"messages": QUESTION, "max_tokens": 200})  # a real reply nobody reads
    try:
        status, reply = post(f"{server.url}/v1/chat/completions", {"messages": QUESTION, "max_tokens": 20}, 30)
        assert status == 200 and reply["choices"][0]["message"]["content"]
    finally:
        slow.close()


def test_lookup_events_pass_through(fake):
    conn, r = open_stream(fake.url, {"messages": [{"role": "user", "content": "lookup"}]})
    events = [e for e in r.read().decode().split("\n\n") if e]
    conn.close()
    deltas = [json.loads(e.removeprefix("data: "))["choices"][0]["delta"] for e in events[:-1]]
    assert deltas[1] == {"picaboo_lookup": {"name": "tuple", "found": "an immutable sequence"}}
    status, whole = post(f"{fake.url}/v1/chat/completions", {"messages": [{"role": "user", "content": "lookup"}]})
    assert whole["choices"][0]["message"]["picaboo_lookups"] == [{"name": "tuple", "found": "an immutable sequence"}]


def test_a_taken_port_is_one_line(server):
    port = server.url.rsplit(":", 1)[1]
    taken = subprocess.run([sys.executable, "-c", SERVE, "serve", "--port", port], cwd=ROOT, env=ENV,
                           capture_output=True, text=True, timeout=120)
    assert taken.returncode == 2
    assert taken.stderr.splitlines() == [taken.stderr.strip()] and f"cannot listen on 127.0.0.1:{port}" in taken.stderr


def answering(url:str, timeout:float=30):
    "Wait until the server answers HTTP: its URL line is printed just before uvicorn starts, and takes over Ctrl-C."
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def interrupt(s:Server):
    "Ctrl-C the server and check that it ends at once, with status 0, 'stopped' and no traceback."
    answering(s.url)
    s.proc.send_signal(signal.SIGINT)
    start = time.time()
    try:
        assert s.proc.wait(30) == 0
    finally:
        s.stop()
    assert time.time() - start < 4  # open replies ended at once, not after uvicorn's graceful timeout
    time.sleep(0.2)  # the reader threads see the end of the output
    assert s.stdout[-1] == "picaboo serve: stopped", s.stdout
    assert not any("Traceback" in line or "ERROR" in line for line in s.stderr), s.stderr


def test_ctrl_c_ends_the_server_cleanly():
    interrupt(Server(SERVE, "serve", "--port", "0").start())


def test_ctrl_c_ends_open_replies_cleanly():
    s = Server(FAKE).start()
    conn, r = open_stream(s.url, {"messages": [{"role": "user", "content": "Go on."}]})  # an endless reply
    try:
        for _ in range(3):
            r.readline()
        interrupt(s)
        assert r.read().endswith(b"data: [DONE]\n\n")  # the client got a proper end of stream
    finally:
        conn.close()
    assert "generation stopped" in s.stdout


def test_the_page_streams_a_reply_and_keeps_the_conversation(browser, server, fake, tmp_path):
    page = browser.new_page(viewport={"width": 760, "height": 560})
    requests = []
    page.on("request", lambda request: requests.append(request))
    page.goto(f"{server.url}/")
    page.wait_for_function("document.getElementById('model').textContent === 'picaboo-tiny-chat'")
    page.fill("#system", SYSTEM["content"])
    page.fill("#question", QUESTION[0]["content"])
    page.press("#question", "Enter")
    page.wait_for_function("document.getElementById('log').dataset.replies === '1'", timeout=60_000)
    answer = page.locator(".assistant .text").first.text_content()
    status, reply = post(f"{server.url}/v1/chat/completions", {"messages": [SYSTEM, *QUESTION]})
    assert answer == reply["choices"][0]["message"]["content"] and answer  # the page shows the model's reply
    page.fill("#question", "And a generator expression?")
    page.click("#send")
    page.wait_for_function("document.getElementById('log').dataset.replies === '2'", timeout=60_000)
    sent = json.loads([r for r in requests if r.url.endswith("/v1/chat/completions")][-1].post_data)
    roles = ["system", "user", "assistant", "user"]
    assert [m["role"] for m in sent["messages"]] == roles  # the conversation is kept, the system prompt first
    assert sent["stream"] is True and sent["messages"][2]["content"] == answer
    assert page.locator(".error").count() == 0
    screenshot = tmp_path / "serve.png"
    page.locator("body").screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 1000
    if os.environ.get("PICABOO_SCREENSHOT"):
        shutil.copy(screenshot, ROOT / os.environ["PICABOO_SCREENSHOT"])
    page.goto(f"{fake.url}/")
    # asked at once: before the page learnt its model's name from /v1/models, the question goes to the served model
    page.fill("#question", "lookup")
    page.press("#question", "Enter")
    page.wait_for_function("document.getElementById('log').dataset.replies === '1'", timeout=30_000)
    assert page.locator(".lookup").text_content() == "looked up tuple: an immutable sequence"
    assert page.locator(".assistant .text").text_content() == "A tuple cannot change."
    mark = len(fake.output)
    page.fill("#question", "Go on.")  # an endless reply: it streams until Stop
    page.press("#question", "Enter")
    streaming = page.locator(".assistant .text").nth(1)
    page.wait_for_function("document.querySelectorAll('.assistant .text')[1].textContent.includes('word3 ')")
    assert page.locator("#stop").is_enabled()  # text is on the page while the reply is still being written
    page.click("#stop")
    page.wait_for_function("document.getElementById('log').dataset.replies === '2'", timeout=30_000)
    assert streaming.text_content().endswith(" [stopped]")
    fake.wait_for("generation stopped", mark, timeout=10)  # Stop closed the connection, which stopped the model
    assert all(r.url.startswith((server.url, fake.url)) for r in requests), [r.url for r in requests]
    page.close()


def test_the_lookup_model_streams_its_lookups():
    "`picaboo serve --ckpt picaboo-tiny-lookup`: the lookup reaches the client before the answer it was read for."
    s = Server(SERVE, "serve", "--port", "0", "--ckpt", "picaboo-tiny-lookup").start()
    try:
        status, whole = post(f"{s.url}/v1/chat/completions",
                             {"model": "picaboo-tiny-lookup", "max_tokens": 40,
                              "messages": [{"role": "user", "content": "What does json.dumps do?"}]})
        assert status == 200, whole
        message = whole["choices"][0]["message"]
        assert message["picaboo_lookups"] == [{"name": "json.dumps", "found": True}], message
        assert message["content"].lower().startswith("serialize"), message
    finally:
        s.stop()
