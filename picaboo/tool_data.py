__all__ = ['QUESTIONS', 'EARLIER', 'ask', 'not_found_answer', 'ambiguous_answer', 'answer_from', 'lookup_conversation', 'questions_about', 'fake_names', 'split_subjects', 'with_context', 'lookup_examples', 'without_dropout', 'train_lookup', 'same_sentence', 'says_not_found', 'ask_with_context', 'lookup_scores', 'chat_scores', 'lookup_figures', 'make_lookup_model']

# %% ../nbs/12_lookup.ipynb #4ca21423
# nbdev writes the __all__ of a second module on one line; every other line here stays within 120 columns
# ruff: noqa: E501
import json
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Sequence

import torch

from .cards import corpus_manifest
from .chat import chat, render
from .finetune import SYSTEM_PROMPTS, ChatBatches, folder_facts, load_for_chat, machine, pad_batch, sentences
from .lookup import (DocIndex, add_lookup_tokens, chat_with_lookup, default_index, fit_prompt, lookup,
                     lookup_training_pair, normalise, result_budget)
from .training import Trainer, TrainerParams

# %% ../nbs/12_lookup.ipynb #beff7310
QUESTIONS = {  # kind -> question templates ({s}: the name as asked); one is drawn (seeded) per question
    "what": ["What does {s} do?", "What is {s} used for?", "Explain {s}.", "What is {s}?",
             "Describe {s} in one sentence.", "Tell me about {s}.", "What does {s}() do?", "How does {s} work?",
             "what does {s} do", "What's {s} for?"],
    "module": ["What is the {s} module for?", "What does the {s} module do?", "Tell me about the {s} module.",
               "What is {s} used for?", "What does {s} do?", "Explain the {s} module."],
    "topic": ["Tell me about {s}.", "Explain {s}.", "What should I know about {s}?", "What is {s}?",
              "What does the language reference say about {s}?"],
    "signature": ["What are the parameters of {s}?", "What is the signature of {s}?", "How do I call {s}?",
                  "What arguments does {s} take?"],
}

def ask(kind:str, # a key of QUESTIONS
        subject:str, # the name or topic heading
        rng:random.Random, # draws the phrasing
       ) -> tuple[str, str]:
    "(question, the name as written in it): what the assistant should copy into its call."
    template = rng.choice(QUESTIONS[kind])
    written = subject + "()" if "{s}()" in template else subject
    if kind == "topic" and subject[:2].isalpha() and not subject[:2].isupper():
        written = subject[0].lower() + subject[1:]  # "The "for" statement" -> "the "for" statement"
    return template.replace("{s}()", "{s}").format(s=written), written

# %% ../nbs/12_lookup.ipynb #00d50038
def not_found_answer(name:str) -> str:
    "What the assistant says when the lookup found nothing."
    return f"I could not find {normalise(name)} in the documentation."

def ambiguous_answer(name:str, candidates:Sequence[str]) -> str:
    "What the assistant says when a short name matches several entries."
    return f"Several names match {normalise(name)}: {', '.join(candidates[:6])}. Which one do you mean?"

def answer_from(kind:str, # "what", "module", "topic" or "signature"
                found, # the Lookup the tool returned
                index:DocIndex,
               ) -> str|None:
    "The answer read off the lookup: first sentence, signature, or 'could not find'; None if the result lacks it."
    if found.status == "ambiguous":
        return ambiguous_answer(found.query, index.resolve(found.query).names)
    if not found.found:
        return not_found_answer(found.query)
    entry = index[found.name]
    answer = entry.signature if kind == "signature" else entry.summary
    return answer if answer and answer in found.text else None

# %% ../nbs/12_lookup.ipynb #42883ead
def lookup_conversation(tokenizer, # has the chat and lookup tokens
                        index:DocIndex, # the documentation
                        messages:list[dict], # the conversation; the last is the user's question
                        name:str, # what the assistant looks up (copied from the question)
                        kind:str, # the kind of question
                        context_length:int=128, # the model's context
                       ) -> dict|None:
    "The whole exchange, as the runtime renders it: the history that fits, the call, the trimmed result, the answer."
    try:
        kept = fit_prompt(tokenizer, messages, context_length)
    except ValueError:  # a question too long to leave room for the lookup
        return None
    used = len(render(tokenizer, kept, add_generation_prompt=True)) + len(tokenizer.encode_ordinary(name)) + 2
    found = lookup(index, name, tokenizer, result_budget(context_length, used))
    answer = answer_from(kind, found, index)
    if answer is None:
        return None
    conversation = kept + [{"role": "call", "content": name}, {"role": "tool", "content": found.text},
                           {"role": "assistant", "content": answer}]
    if len(lookup_training_pair(tokenizer, conversation)[0]) > context_length:
        return None
    return {"kind": kind, "name": name, "entry": found.name, "status": found.status, "messages": conversation}

# %% ../nbs/12_lookup.ipynb #e5f96adf
def questions_about(index:DocIndex, # the documentation
                    rng:random.Random, # draws the phrasings
                   ) -> list[tuple[str, str, str, str]]:
    "[(subject, kind, question, name as asked)]: what each documented name or topic can be asked, one phrasing each."
    out = []
    for entry in list(index.entries.values()) + list(index.topics.values()):
        if len(entry.summary.split()) >= 3 and ">>>" not in entry.summary:
            kind = {"member": "what", "module": "module", "topic": "topic"}[entry.kind]
            out.append((entry.name, kind, *ask(kind, entry.heading or entry.name, rng)))
        if entry.signature:
            out.append((entry.name, "signature", *ask("signature", entry.name, rng)))
    return out

# %% ../nbs/12_lookup.ipynb #2e3ad3b7
def fake_names(index:DocIndex, # the documentation: a fake must resolve to nothing in it
               count:int, # how many
               seed:int=0, # the same seed gives the same names
              ) -> list[str]:
    "Plausible names that do not exist: a real module with made-up members, or a made-up module, checked 'missing'."
    rng = random.Random(seed)
    modules = sorted(e.name for e in index.entries.values() if e.kind == "module")
    words = sorted({w for name in index.entries for w in name.split(".")[-1].lower().split("_") if 3 <= len(w) <= 9})
    patterns = [lambda: f"{rng.choice(modules)}.{rng.choice(words)}_{rng.choice(words)}",
                lambda: f"{rng.choice(modules)}.{rng.choice(words).title()}{rng.choice(words).title()}",
                lambda: f"{rng.choice(words)}{rng.choice(['lib', 'tools', 'util', 'x'])}.{rng.choice(words)}",
                lambda: f"{rng.choice(words)}_{rng.choice(words)}"]
    names, seen = [], set()
    while len(names) < count:
        name = rng.choice(patterns)()
        if name not in seen and index.resolve(name).status == "missing":
            names.append(name)
        seen.add(name)
    return names

# %% ../nbs/12_lookup.ipynb #c15cbe4e
def split_subjects(subjects:Sequence[str], # every subject's name
                   val_fraction:float=0.1, # the share held out
                   seed:int=0,
                  ) -> set[str]:
    "The held-out subjects: a seeded random choice; no question about them is trained on."
    subjects = sorted(set(subjects))
    return set(random.Random(seed).sample(subjects, max(1, round(len(subjects) * val_fraction))))

def with_context(question:str, # the user's question
                 rng:random.Random, # draws the choices
                 earlier:Sequence[tuple[str, str]], # (question, answer) exchanges to put before it
                 system_share:float=0.15, # this share opens with a system prompt
                 follow_up_share:float=0.15, # this share comes after an earlier exchange
                ) -> list[dict]:
    "The question as a chat would send it: sometimes behind a system prompt, sometimes after an earlier exchange."
    messages = [{"role": "user", "content": question}]
    draw = rng.random()
    if draw < follow_up_share and earlier:
        q, a = earlier[rng.randrange(len(earlier))]
        messages = [{"role": "user", "content": q}, {"role": "assistant", "content": a}] + messages
    if system_share + follow_up_share > draw >= follow_up_share:
        messages = [{"role": "system", "content": rng.choice(SYSTEM_PROMPTS)}] + messages
    return messages

# %% ../nbs/12_lookup.ipynb #9bf7735d
def lookup_examples(index:DocIndex, # the documentation
                    tokenizer, # has the chat and lookup tokens
                    context_length:int=128, # every conversation fits the model's context
                    seed:int=0, # seed of the phrasings, the split, the fakes and the context
                    fakes:int=1500, # training questions about names that do not exist
                    val_fraction:float=0.1, # share of subjects held out
                   ) -> tuple[list[dict], list[dict], dict]:
    "(train conversations, held-out questions, counts): whole subjects held out; fakes and ambiguous names added."
    rng = random.Random(seed)
    second = [q for q in questions_about(index, rng) if q[1] != "signature"]  # a second phrasing
    asked = questions_about(index, rng) + second
    held = split_subjects([a[0] for a in asked], val_fraction, seed)
    earlier = [(q, index[s].summary) for s, kind, q, _ in asked if s not in held and kind != "signature"]
    ambiguous = sorted(k for k, names in index.short.items() if len(names) > 1 and "." not in k)
    made_up = fake_names(index, fakes + fakes // 5, seed)
    train_subjects = [a for a in asked if a[0] not in held and (a[1] != "signature" or rng.random() < 0.5)]
    for f in made_up[:fakes]:
        kind = rng.choice(["what", "signature"])
        train_subjects.append((f, kind, *ask(kind, f, rng)))
    train_subjects += [(k, "what", *ask("what", k, rng)) for k in rng.sample(ambiguous, min(200, len(ambiguous)))]
    train, dropped = [], 0
    for subject, kind, question, name in train_subjects:
        conv = lookup_conversation(tokenizer, index, with_context(question, rng, earlier), name, kind, context_length)
        dropped += conv is None
        if conv is not None:
            train.append({**conv, "subject": subject})
    val = [{"subject": s, "kind": kind, "question": q, "name": n} for s, kind, q, n in asked if s in held]
    val = list({v["question"]: v for v in val}.values())  # one of each question
    val += [{"subject": f, "kind": "fake", "question": ask("what", f, rng)[0], "name": f} for f in made_up[fakes:]]
    counts = dict(train=len(train), dropped=dropped, held_out_subjects=len(held), val=len(val),
                  fakes=fakes, ambiguous=min(200, len(ambiguous)))
    return train, val, counts

# %% ../nbs/12_lookup.ipynb #83857835
def without_dropout(model):
    "Turn dropout off (and record it in the config): exact copying is learned faster without it."
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if hasattr(module, "dropout_rate"):
            module.dropout_rate = 0.0
    model.params.dropout_rate = 0.0
    return model

def train_lookup(model, # a PicabooLM with the chat and lookup tokens
                 tokenizer, # its tokenizer
                 train:list[dict], # training conversations (lookup_examples)
                 val:list[dict], # validation conversations
                 max_steps:int=1000, # optimizer steps at most
                 max_time:float|None=None, # seconds of training at most
                 batch_size:int=16, # conversations per step
                 max_learning_rate:float=1e-3, # peak LR (warmup, then cosine to a tenth)
                 seed:int=0, # seed of the batches
                 warmup_steps:int=20, # linear warmup
                 **kwargs, # more TrainerParams fields: progress, eval_every, log_every...
                ) -> Trainer:
    "Fine-tune with the training chapter's Trainer; the loss covers the assistant's calls and answers only."
    pairs = [lookup_training_pair(tokenizer, e["messages"]) for e in train]
    val_pairs = [lookup_training_pair(tokenizer, e["messages"]) for e in val]
    val_batches = [pad_batch(val_pairs[i:i + 64]) for i in range(0, len(val_pairs), 64)]
    with tempfile.TemporaryDirectory() as tmp:
        p = TrainerParams(model=model, tokenizer=tokenizer, train_dataloader=ChatBatches(pairs, batch_size, seed),
                          val_dataloader=val_batches, eval_batches=len(val_batches), device="cpu",
                          batch_size=batch_size,
                          max_steps=max_steps, max_time=max_time, max_learning_rate=max_learning_rate,
                          min_learning_rate=max_learning_rate / 10, warmup_steps=warmup_steps, seed=seed, sample_every=0,
                          checkpoints_path=tmp, **{"save_every": 0, "log_every": 50, "progress": False,
                                                   "eval_every": 500, "tracking": False, **kwargs})
        trainer = Trainer(p)
        trainer.train()
    return trainer

# %% ../nbs/12_lookup.ipynb #98c34d07
def same_sentence(answer:str, # the model's answer
                  reference:str, # the documentation's sentence
                 ) -> bool:
    "Does the answer's first sentence equal the reference, ignoring case and whitespace?"
    first = sentences(answer)
    squash = lambda s: " ".join(s.lower().split())
    return bool(first) and squash(first[0]) == squash(reference)

def says_not_found(answer:str) -> bool:
    "Does the answer say the name could not be found?"
    return answer.startswith("I could not find")

EARLIER = ("What is the json module for?", "JSON (JavaScript Object Notation) is a subset of JavaScript syntax.")

def ask_with_context(question:str, # the held-out question
                     setting:str, # "plain", "system" (behind a system prompt) or "follow_up" (after an exchange)
                     earlier:tuple[str, str]=EARLIER, # the earlier exchange: (question, answer)
                    ) -> list[dict]:
    "The question alone, behind a system prompt, or after an earlier exchange."
    messages = [{"role": "user", "content": question}]
    if setting == "system":
        return [{"role": "system", "content": SYSTEM_PROMPTS[0]}] + messages
    if setting == "follow_up":
        return [{"role": "user", "content": earlier[0]}, {"role": "assistant", "content": earlier[1]}] + messages
    return messages

def lookup_scores(model, # a model fine-tuned for lookups
                  tokenizer, # its tokenizer
                  index:DocIndex, # the documentation
                  val:list[dict], # held-out questions (lookup_examples)
                  setting:str="plain", # see ask_with_context
                  limit:int|None=None, # at most this many questions of each kind (None: all)
                 ) -> dict:
    "Greedy answers to held-out questions scored: first sentence, signature, fakes said not found, inventions."
    right, total, invented, unfound = {}, {}, 0, 0
    for kind in ("what", "module", "topic", "signature", "fake"):
        for v in [v for v in val if v["kind"] == kind][:limit]:
            lookups = []
            answer = chat_with_lookup(model, tokenizer, ask_with_context(v["question"], setting), index, lookups.append,
                                      max_new_tokens=48)
            entry = index[v["subject"]] if kind != "fake" else None
            if kind == "fake":
                ok = says_not_found(answer)
            elif kind == "signature":
                ok = " ".join(answer.split()) == " ".join(entry.signature.split())
            else:
                ok = same_sentence(answer, entry.summary)
            group = "fake" if kind == "fake" else "signature" if kind == "signature" else "what"
            right[group] = right.get(group, 0) + ok
            total[group] = total.get(group, 0) + 1
            if lookups and not lookups[-1].found:
                unfound += 1
                invented += not says_not_found(answer) and not answer.startswith("Several names match")
    scores = {f"{g}_right": round(right[g] / total[g], 4) for g in total}
    return {**scores, "questions": total, "lookups_not_found": unfound, "invented_after_not_found": invented}

def chat_scores(model, # a chat model without the lookup (picaboo-tiny-chat)
                tokenizer, # its tokenizer
                index:DocIndex, # the documentation (for the references)
                val:list[dict], # held-out questions
                limit:int|None=None, # at most this many questions of each kind
               ) -> dict:
    "The same first-sentence and not-found scores for a model that answers from memory (chapter 09's `chat`)."
    right, total = {"what": 0, "fake": 0}, {"what": 0, "fake": 0}
    for kind in ("what", "module", "topic", "fake"):
        for v in [v for v in val if v["kind"] == kind][:limit]:
            answer = chat(model, tokenizer, [{"role": "user", "content": v["question"]}], max_new_tokens=48)
            group = "fake" if kind == "fake" else "what"
            if kind == "fake":
                right[group] += says_not_found(answer)
            else:
                right[group] += same_sentence(answer, index[v["subject"]].summary)
            total[group] += 1
    return {**{f"{g}_right": round(right[g] / total[g], 4) for g in total}, "questions": total}

# %% ../nbs/12_lookup.ipynb #845af120
def lookup_figures(model, tokenizer, index:DocIndex, val:list[dict], limit:int|None=None) -> dict:
    "The scores of lookup_scores alone, behind a system prompt, and after an earlier exchange."
    settings = ("plain", "system", "follow_up")
    return {setting: lookup_scores(model, tokenizer, index, val, setting, limit) for setting in settings}

def make_lookup_model(base:str, # the chat model to start from (a folder or a shipped name)
                      out:str|Path, # folder for the model, its tokenizer and card.json
                      max_steps:int=2000, # optimizer steps at most
                      max_time:float|None=None, # seconds of training at most
                      batch_size:int=16, # conversations per step
                      max_learning_rate:float=1e-3, # peak learning rate
                      seed:int=0, # seed of everything
                      eval_limit:int|None=None, # held-out questions of each kind to score (None: all)
                      command:str="", # the command line, for the card
                     ) -> dict:
    "The whole recipe: add the lookup tokens to `base`, build the data, train, score, save with a card; the card."
    t0 = time.perf_counter()
    model, tokenizer = load_for_chat(base, seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        add_lookup_tokens(model, tokenizer)
    index = default_index()
    train, val, counts = lookup_examples(index, tokenizer, model.params.context_length, seed)
    base_figures = chat_scores(*load_for_chat(base, seed), index, val, eval_limit)
    val_conversations = []
    for v in val:
        question = [{"role": "user", "content": v["question"]}]
        conv = lookup_conversation(tokenizer, index, question, v["name"], v["kind"], model.params.context_length)
        if conv is not None and v["kind"] != "fake":
            val_conversations.append(conv)
    print(f"{len(train)} training conversations, {len(val)} held-out questions", flush=True)
    t1 = time.perf_counter()
    trainer = train_lookup(without_dropout(model), tokenizer, train, val_conversations, max_steps, max_time, batch_size,
                           max_learning_rate, seed)
    train_seconds = time.perf_counter() - t1
    model.eval()
    figures = lookup_figures(model, tokenizer, index, val, eval_limit)
    out = Path(out)
    model.save_pretrained(out)
    tokenizer.save(out)
    (out/"held_out.json").write_text(json.dumps(val, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    m, loss = corpus_manifest(), trainer.history.get("loss", [])
    card = {"name": out.name, "base": str(base), "command": command, "seed": seed, "machine": machine(),
            "python": platform.python_version(), "torch": torch.__version__,
            "corpus": {k: m.get(k) for k in ("bytes", "documents", "sha256", "python", "version")},
            "model": model.params.to_dict(), "all_params": model.num_params(non_embedding=False), "data": counts,
            "training": {"steps": trainer.step, "stop_reason": trainer.stop_reason, "batch_size": batch_size,
                         "max_learning_rate": max_learning_rate, "train_seconds": round(train_seconds, 1),
                         "train_loss_last50": sum(loss[-50:]) / max(1, len(loss[-50:]))},
            "figures": figures, "base_figures": base_figures, "eval_limit": eval_limit, "held_out": "held_out.json",
            "how": "picaboo.tool_data.lookup_figures(model, tok, default_index(), held_out.json, eval_limit): "
                   "greedy, at most 48 new tokens per step, up to 3 lookups; "
                   "base_figures: chat_scores of the base model (no lookup)",
            "command_wall_seconds": round(time.perf_counter() - t0, 1)}
    card.update(folder_facts(out))
    (out/"card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return card