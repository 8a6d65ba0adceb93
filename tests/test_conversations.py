"""`picaboo finetune --data FILE.jsonl`: every fault of a chat file is one line and exit status 2 before any work;
a good file is trimmed, split and fine-tuned on (chapter 12, "Your own conversations")."""
import hashlib
import json

import pytest

from picaboo.chat import add_chat_tokens, training_pair
from picaboo.cli import main
from picaboo.finetune import conversation_split, fit_conversation, read_conversations
from picaboo.loading import load_model_and_tokenizer

GOOD = {"messages": [{"role": "user", "content": "What is a set?"},
                     {"role": "assistant", "content": "A set holds unique items."}]}


def write_lines(path, *lines):
    "A JSONL file of these lines (dicts are dumped, strings written as they are)."
    text = "".join((json.dumps(line) if isinstance(line, dict) else line) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tok():
    return add_chat_tokens(load_model_and_tokenizer("picaboo-tiny")[1])


BAD_LINES = [
    ('{"messages": [', "not JSON"),
    ('[1, 2]', 'no "messages" list'),
    ('{"messages": "hello"}', 'no "messages" list'),
    ('{"messages": []}', "empty conversation"),
    ('{"messages": ["hi"]}', "message 0: not an object"),
    ('{"messages": [{"role": "bot", "content": "hi"}]}', "unknown role 'bot'"),
    ('{"messages": [{"role": "user"}, {"role": "assistant", "content": "x"}]}', "message 0 (user): empty content"),
    ('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]}', "empty content"),
    ('{"messages": [{"role": "user", "content": [{"type": "text"}]}]}', "content must be text, got list"),
    ('{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]}',
     "no assistant turn"),
]


@pytest.mark.parametrize("line, fault", BAD_LINES)
def test_bad_line_named_with_its_number(tmp_path, line, fault):
    path = write_lines(tmp_path/"chats.jsonl", GOOD, "", GOOD, line, GOOD)  # the blank line still counts as line 2
    with pytest.raises(ValueError) as e:
        read_conversations(path)
    assert "chats.jsonl line 4: " in str(e.value) and fault in str(e.value), e.value


@pytest.mark.parametrize("line, fault", BAD_LINES[::3])
def test_bad_file_is_one_line_and_status_2_before_any_work(tmp_path, capsys, line, fault):
    path = write_lines(tmp_path/"chats.jsonl", GOOD, line)
    out = tmp_path/"out"
    assert main(["finetune", "--data", str(path), "--out", str(out), "--max-steps", "1", "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "line 2: " in captured.err and fault in captured.err, captured.err
    assert captured.out == "" and not out.exists()  # nothing loaded, trained or written


def test_not_utf8_missing_and_empty_files(tmp_path, capsys):
    path = tmp_path/"chats.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n\xff\xfe{}\n")  # a BOM is fine, bad bytes not
    with pytest.raises(ValueError, match="line 2: not UTF-8"):
        read_conversations(path)
    with pytest.raises(ValueError, match="no conversations"):
        read_conversations(write_lines(tmp_path/"empty.jsonl", "", "  "))
    assert main(["finetune", "--data", str(tmp_path/"missing.jsonl"), "--out", str(tmp_path/"out")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_trim_and_split(tok):
    long_chat = []
    for i in range(12):
        long_chat += [{"role": "user", "content": f"Question {i}: what does the documentation say about lists?"},
                      {"role": "assistant", "content": f"Answer {i}: lists hold items in order and can change."}]
    system = {"role": "system", "content": "Answer in one sentence."}
    kept = fit_conversation(tok, [system] + long_chat, 128)
    assert kept[0] == system and kept[1]["role"] == "user" and kept[-1] == long_chat[-1] and len(kept) < 25
    assert len(training_pair(tok, kept)[0]) <= 128
    too_long = [{"role": "user", "content": "Recite."}, {"role": "assistant", "content": "word " * 300}]
    assert fit_conversation(tok, too_long, 128) is None
    conversations = [{"line": i + 1, "messages": GOOD["messages"]} for i in range(19)]
    conversations += [{"line": 20, "messages": long_chat}, {"line": 21, "messages": too_long}]
    train, val, counts = conversation_split(conversations, tok, 128, seed=3)
    assert counts == dict(conversations=21, trimmed=1, too_long=1, train=18, val=2)
    assert conversation_split(conversations, tok, 128, seed=3) == (train, val, counts)
    assert {e["line"] for e in train}.isdisjoint(e["line"] for e in val)
    with pytest.raises(ValueError, match="needs at least 2"):
        conversation_split(conversations[-2:], tok, 128)


def test_finetune_on_a_file_end_to_end(tmp_path, capsys):
    lines = [GOOD] * 12 + [{"messages": [{"role": "system", "content": "Be brief."}] + GOOD["messages"] * 8}]
    path = write_lines(tmp_path/"chats.jsonl", *lines)
    out = tmp_path/"tuned"
    assert main(["finetune", "--data", str(path), "--out", str(out), "--max-steps", "3", "--batch-size", "4",
                 "--eval-every", "3", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "13 conversations; 1 trimmed to fit the 128-token context" in printed, printed
    card = json.loads((out/"card.json").read_text(encoding="utf-8"))
    assert card["data"] == dict(conversations=13, trimmed=1, too_long=0, train=12, val=1)
    assert f"--data {path}" in card["command"] and card["training"]["steps"] == 3
    assert card["data_file"] == {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert "val_assistant_loss_in_chat" not in card and card["answers"][0]["reference"] == GOOD["messages"][1]["content"]
    model, tok = load_model_and_tokenizer(out)
    assert model.params.vocab_size == tok.vocab_size == 2052
