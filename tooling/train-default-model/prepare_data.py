"""Corpus extraction, split and tokenizer training for the bundled default model.

Reads the King James Bible from Debian's `bible-kjv` program (text in `bible-kjv-text`),
makes one document per chapter (one verse per line), holds out whole chapters for
validation and test, adds ChatML-formatted continuation examples built from training
chapters only, trains a byte-level BPE tokenizer on the training split and writes the
token streams as little-endian uint16 files.

Usage (from the repository root, after `apt-get install -y bible-kjv`):
    python3 tooling/train-default-model/prepare_data.py --out .train

Outputs in --out: tokenizer.json, tokenizer_config.json, train.bin, val.bin, test.bin,
corpus_stats.json, and the split texts (train.txt, val.txt, test.txt) for inspection.
"""

import argparse
import hashlib
import json
import random
import re
import subprocess
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

EOT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [EOT, IM_START, IM_END]  # ids 0, 1, 2

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# A verse line of `bible -f`: book abbreviation (may start with a digit), chapter:verse, text.
VERSE_RE = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$")


def read_bible(source: str | None) -> str:
    if source:
        return Path(source).read_text(encoding="utf-8")
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True, capture_output=True)
    return out.stdout.decode("utf-8")


def chapters(raw: str) -> list[list[str]]:
    """Verses grouped by chapter, in canonical order."""
    result: list[list[str]] = []
    current_key = None
    for line in raw.splitlines():
        line = line.strip()
        if not line:
            continue
        m = VERSE_RE.match(line)
        if m is None:
            raise ValueError(f"unexpected line in bible output: {line[:80]!r}")
        key = (m.group(1), m.group(2))
        if key != current_key:
            result.append([])
            current_key = key
        result[-1].append(" ".join(m.group(4).split()))
    return result


def chat_example(verses: list[str], rng: random.Random) -> str:
    """A user turn holding one verse and an assistant turn continuing with the next 1-3."""
    start = rng.randrange(0, max(1, len(verses) - 1))
    count = rng.randint(1, 3)
    user = verses[start]
    reply = "\n".join(verses[start + 1 : start + 1 + count]) or verses[start]
    return f"{IM_START}user\n{user}{IM_END}\n{IM_START}assistant\n{reply}{IM_END}\n"


def train_tokenizer(train_docs: list[str], vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    # Same component layout as GPT-2's tokenizer.json (ByteLevel everywhere, built-in regex).
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(train_docs, trainer=trainer)
    return tok


def encode_stream(tok: Tokenizer, docs: list[str]) -> np.ndarray:
    eot = tok.token_to_id(EOT)
    ids: list[int] = []
    for enc in tok.encode_batch(docs, add_special_tokens=False):
        ids.extend(enc.ids)
        ids.append(eot)
    arr = np.asarray(ids, dtype=np.uint16)
    assert arr.max() < 65536
    return arr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".train")
    ap.add_argument("--source", default=None, help="saved `bible -f` output instead of running it")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1611)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    raw = read_bible(args.source)
    chaps = chapters(raw)
    # Every 20th chapter (offset 0) is test, offset 10 is validation: both cover every part of the book.
    split = {"train": [], "val": [], "test": []}
    for i, verses in enumerate(chaps):
        name = "test" if i % 20 == 0 else "val" if i % 20 == 10 else "train"
        split[name].append(verses)

    rng = random.Random(args.seed)
    train_docs = ["\n".join(v) for v in split["train"]]
    chat_docs = [chat_example(v, rng) for v in split["train"] for _ in range(2)]
    train_all = train_docs + chat_docs
    rng.shuffle(train_all)
    val_docs = ["\n".join(v) for v in split["val"]]
    test_docs = ["\n".join(v) for v in split["test"]]

    tok = train_tokenizer(train_docs, args.vocab_size)
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2]
    tok.save(str(out / "tokenizer.json"))
    tokenizer_config = {
        "bos_token": None,
        "eos_token": IM_END,
        "pad_token": EOT,
        "unk_token": None,
        "model_max_length": 1024,
        "add_bos_token": False,
        "clean_up_tokenization_spaces": False,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": CHAT_TEMPLATE,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")

    stats = {
        "source": "Debian packages bible-kjv 4.38 (program `bible`) and bible-kjv-text 4.38 (data)",
        "raw_sha256": hashlib.sha256(raw.encode("utf-8")).hexdigest(),
        "raw_bytes": len(raw.encode("utf-8")),
        "chapters": len(chaps),
        "verses": sum(len(c) for c in chaps),
        "vocab_size": tok.get_vocab_size(),
    }
    for name, docs in (("train", train_all), ("val", val_docs), ("test", test_docs)):
        (out / f"{name}.txt").write_text(("\n" + EOT + "\n").join(docs), encoding="utf-8")
        arr = encode_stream(tok, docs)
        arr.astype("<u2").tofile(out / f"{name}.bin")
        stats[name] = {
            "documents": len(docs),
            "bytes": sum(len(d.encode("utf-8")) for d in docs),
            "tokens": int(arr.size),
        }
    stats["train"]["chat_examples"] = len(chat_docs)
    stats["bytes_per_token_test"] = stats["test"]["bytes"] / stats["test"]["tokens"]
    (out / "corpus_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
