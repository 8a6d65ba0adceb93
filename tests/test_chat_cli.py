"""`picaboo chat` in a real pseudo-terminal (pexpect): a question and its streamed answer, the commands, Ctrl-C
that stops a reply but not the REPL, and a clean exit at end of input. Plus the same program with a pipe."""
import os, signal, subprocess, sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect", reason="pexpect (dev extra) drives the terminal")

ROOT = Path(__file__).resolve().parent.parent
CHAT_MODEL, BASE_MODEL = ROOT/"models"/"picaboo-tiny-chat", ROOT/"models"/"picaboo-tiny"
PICABOO = [sys.executable, "-c", "import sys; from picaboo.cli import main; sys.exit(main())"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "TERM": "dumb"}

def _default_ctrl_c():
    "Ctrl-C as a terminal sends it: a runner started with `cmd &` passes an ignored SIGINT to its children."
    signal.signal(signal.SIGINT, signal.SIG_DFL)

def spawn(*argv) -> "pexpect.spawn":
    "`picaboo chat ...` on a fresh pseudo-terminal, as a user would start it."
    child = pexpect.spawn(PICABOO[0], [*PICABOO[1:], "chat", *argv], cwd=str(ROOT), env=ENV, encoding="utf-8",
                          timeout=60, dimensions=(40, 200), preexec_fn=_default_ctrl_c)
    child.expect("Ctrl-D leaves")
    child.preamble = child.before  # what it printed before the banner's end (warnings on stderr included)
    child.expect_exact("you> ")
    return child

def test_a_question_gets_a_streamed_answer_and_the_commands_work():
    child = spawn("--ckpt", str(CHAT_MODEL), "--system", "You answer questions about Python.")
    child.sendline("What does json.dumps do?")
    child.expect_exact("picaboo> ")
    child.expect_exact("you> ")  # the model closed its turn: the prompt is back
    answer = child.before.strip()
    assert len(answer) > 5 and "<|" not in answer, answer  # a real reply, no special token leaked into the text
    child.sendline("/system")
    child.expect_exact("(system prompt: 'You answer questions about Python.')")
    child.sendline("/reset")
    child.expect_exact("(conversation cleared)")
    child.sendline("/system Be brief.")
    child.expect_exact("(new system prompt; conversation cleared)")
    child.sendline("/nonsense")
    child.expect_exact("(unknown command /nonsense; /help lists them)")
    child.sendline("/help")
    child.expect_exact("/exit")
    child.expect_exact("you> ")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

@pytest.fixture(scope="module")
def long_winded(tmp_path_factory):
    "An untrained model with a 4,096-token context and the shipped tokenizer: its replies run for seconds."
    import torch
    from picaboo.model import PicabooLM, PicabooLMParams
    from picaboo.tokenizer import Tokenizer
    folder = tmp_path_factory.mktemp("long-winded")
    torch.manual_seed(0)
    PicabooLM(PicabooLMParams.preset("tiny", context_length=4096, num_blocks=1, device="cpu")).save_pretrained(folder)
    Tokenizer.load(ROOT/"models").save(folder)
    return folder

def test_ctrl_c_stops_a_reply_not_the_repl_and_eof_exits(long_winded):
    # an untrained model rarely closes a chat turn, and its long context lets a reply run for seconds (the shipped
    # models' 128 tokens end a reply in a fraction of a second, which a busy machine's Ctrl-C can miss)
    child = spawn("--ckpt", str(long_winded), "--max-new-tokens", "100000", "--temperature", "0.8", "--seed", "1")
    assert "was not fine-tuned for chat" in child.preamble  # said on stderr, before the banner
    for attempt in range(5):  # if a reply still ended before Ctrl-C reached it, ask again
        child.sendline("Tell me everything.")
        child.expect_exact("picaboo> ")
        child.sendintr()
        caught = child.expect_exact(["[stopped]", "(Ctrl-D or /exit to leave)"]) == 0
        child.expect_exact("you> ")
        if caught:
            break
    assert caught, "five replies in a row ended before Ctrl-C reached them"
    child.sendintr()  # Ctrl-C at the prompt does not leave either
    child.expect_exact("(Ctrl-D or /exit to leave)")
    child.expect_exact("you> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and child.signalstatus is None

def test_piped_input_the_default_model_and_bad_flags(tmp_path):
    # no --ckpt, from a folder outside the repository: the shipped chat model is found beside the installed package
    r = subprocess.run([*PICABOO, "chat", "--max-new-tokens", "8"], input="hello\n/help\n",
                       capture_output=True, text=True, env=ENV, timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and "picaboo> " in r.stdout and "/reset" in r.stdout, r.stderr
    assert "not fine-tuned" not in r.stderr  # it found the chat model, not something else
    r = subprocess.run([*PICABOO, "chat", "--ckpt", str(ROOT/"no-such-model")], capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no checkpoint at" in r.stderr
    r = subprocess.run([*PICABOO, "chat", "--ckpt", str(CHAT_MODEL), "--max-new-tokens", "0"], capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 2 and "--max-new-tokens must be >= 1" in r.stderr


def test_one_shot_answer_after_a_visible_lookup(tmp_path):
    "`picaboo chat -p`: the default (lookup) model looks the name up, says so on stderr, answers on stdout."
    r = subprocess.run([*PICABOO, "chat", "-p", "What does json.dumps do?"], capture_output=True, text=True, env=ENV,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "(looked up json.dumps: found)"
    assert r.stdout.strip().lower().startswith("serialize"), r.stdout  # json.dumps's first sentence
    r = subprocess.run([*PICABOO, "chat", "-p", "What does json.frobnicate do?"], capture_output=True, text=True,
                       env=ENV, timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and "not found" in r.stderr and "could not find" in r.stdout.lower(), (r.stdout, r.stderr)
    r = subprocess.run([*PICABOO, "chat", "-p", " "], capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 2 and "--prompt is empty" in r.stderr


def test_repl_shows_each_lookup():
    child = spawn("--system", "You answer questions about Python.")
    child.sendline("What does json.loads do?")
    child.expect_exact("(looked up json.loads: found)")
    child.expect_exact("you> ")
    child.sendeof()
    child.expect(pexpect.EOF)
