"""How well and how fast `digest.classify` finds partnership announcements.

Prints, for the labelled real messages in ../shared/corpus/dev/: precision, recall, F1, the
confusion matrix and every misclassified subject with its score and strongest reasons; the same
figures for the naive rule "the text contains 'partner'"; then P/R and messages per second on a
generated corpus (bench/out/5k.mbox + 5k.labels.jsonl, made with ../shared/bench/make_corpus.py
when missing).

    .venv/bin/python bench/classify_eval.py [--corpus DIR] [--messages 5000] [--quiet]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from digest.classify import classify, load_rules  # noqa: E402
from digest.links import extract_links  # noqa: E402
from digest.model import Link, Message, Verdict  # noqa: E402
from digest.parse import normalise_subject, parse_message, split_body  # noqa: E402
from digest.sources.local import read_path  # noqa: E402

SHARED = REPO.parent / "shared"


# --- messages from the labelled corpus ------------------------------------------------------

def corpus_message(item: dict, key: str) -> Message:
    """A Message from one labelled corpus record (no headers: replies show only in the text)."""
    body = item.get("body", "")
    new, quoted, sig, footer, _ = split_body(body)
    lst = (item.get("list") or "").lower()
    date = None
    if item.get("date"):
        try:
            date = datetime.fromisoformat(item["date"].replace("Z", "+00:00"))
        except ValueError:
            date = None
    subject = item.get("subject") or ""
    return Message(key=key, message_id=key, msgid_hash="", subject=subject,
                   subject_norm=normalise_subject(subject), from_name=item.get("from_name") or "",
                   from_addr="", date=date, in_reply_to=None, references=(),
                   lists=(lst,) if lst and lst != "other" else (), text=body, new_text=new,
                   quoted_text=quoted, signature=sig, footer=footer)


@dataclass
class Case:
    name: str
    subject: str
    truth: bool
    message: Message
    links: tuple[Link, ...]


def load_dev(corpus: Path) -> list[Case]:
    cases = []
    for path in sorted(corpus.glob("*.json")):
        item = json.loads(path.read_text(encoding="utf-8"))
        msg = corpus_message(item, path.stem)
        cases.append(Case(path.name, item.get("subject") or "(no subject)",
                          item.get("label") == "partnership", msg, tuple(extract_links(msg))))
    return cases


# --- figures --------------------------------------------------------------------------------

@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, said: bool) -> None:
        if truth and said:
            self.tp += 1
        elif said:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def lines(self, title: str) -> list[str]:
        return [f"{title}: precision {self.precision:.3f}  recall {self.recall:.3f}  "
                f"F1 {self.f1:.3f}",
                "                      said yes  said no",
                f"  partnership         {self.tp:8d}  {self.fn:7d}",
                f"  other               {self.fp:8d}  {self.tn:7d}"]


def naive(message: Message) -> bool:
    """The reference point: the text (subject or body) contains 'partner'."""
    return "partner" in f"{message.subject}\n{message.text}".lower()


def evaluate(cases: Sequence[Case], decide: Callable[[Case], tuple[bool, Verdict | None]]
             ) -> tuple[Scores, list[tuple[Case, Verdict | None, bool]]]:
    scores = Scores()
    wrong = []
    for case in cases:
        said, verdict = decide(case)
        scores.add(case.truth, said)
        if said != case.truth:
            wrong.append((case, verdict, said))
    return scores, wrong


def report_dev(corpus: Path, quiet: bool) -> None:
    cases = load_dev(corpus)
    rules = load_rules()
    pos = sum(c.truth for c in cases)
    print(f"== dev corpus: {corpus} ({len(cases)} messages, {pos} partnership) ==")
    scores, wrong = evaluate(cases, lambda c: (lambda v: (v.partnership, v))(
        classify(c.message, c.links, rules)))
    print("\n".join(scores.lines("classify")))
    print(f"misclassified ({len(wrong)}):")
    for case, verdict, said in wrong:
        assert verdict is not None
        kind = "false positive" if said else "false negative"
        print(f"  {kind}  {verdict.score:.2f}  {case.name}  {case.subject[:80]}")
        if not quiet:
            for r in verdict.reasons[:5]:
                print(f"      {r}")
    nscores, _ = evaluate(cases, lambda c: (naive(c.message), None))
    print("\n".join(nscores.lines("naive 'partner'")))


# --- generated corpus -----------------------------------------------------------------------

def _ensure_corpus(n: int) -> tuple[Path, Path]:
    out = REPO / "bench" / "out"
    mbox, labels = out / f"{n // 1000}k.mbox", out / f"{n // 1000}k.labels.jsonl"
    if not (mbox.exists() and labels.exists()):
        maker = SHARED / "bench" / "make_corpus.py"
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(maker), "--messages", str(n), "--mbox", str(mbox),
                        "--labels", str(labels)], check=True)
    return mbox, labels


def _parsed(mbox: Path) -> Iterable[Message]:
    for item in read_path(mbox):
        if isinstance(item, tuple):
            yield parse_message(*item)


def report_generated(n: int, quiet: bool) -> None:
    if not (SHARED / "bench" / "make_corpus.py").exists():
        print("(generated corpus skipped: ../shared/bench/make_corpus.py not found)")
        return
    mbox, labels_path = _ensure_corpus(n)
    truth = {}
    for line in labels_path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        truth[rec["message_id"].strip("<>")] = bool(rec["partnership"])
    t0 = time.perf_counter()
    messages = list(_parsed(mbox))
    parse_s = time.perf_counter() - t0
    all_links = [tuple(extract_links(m)) for m in messages]
    rules = load_rules()
    verdicts: list[Verdict] = []
    wall, cpu = [], []
    for _ in range(3):  # best of three: the machine may be shared
        t0, c0 = time.perf_counter(), time.process_time()
        verdicts = [classify(m, links, rules) for m, links in zip(messages, all_links)]
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"\n== generated corpus: {mbox.name} ({len(messages)} messages, parsed in "
          f"{parse_s:.1f} s) ==")
    print(f"classification speed: {len(messages) / min(wall):,.0f} messages/s wall clock, "
          f"{len(messages) / min(cpu):,.0f} messages/s CPU time (best of 3; "
          f"{sum(len(m.new_text) for m in messages) // len(messages)} characters of new text "
          f"on average; links given, parse excluded)")
    scores, nscores = Scores(), Scores()
    wrong = []
    for m, v in zip(messages, verdicts):
        t = truth.get(m.message_id)
        if t is None:
            continue
        scores.add(t, v.partnership)
        nscores.add(t, naive(m))
        if t != v.partnership:
            wrong.append((m, v))
    print("\n".join(scores.lines("classify (generated labels)")))
    print("\n".join(nscores.lines("naive 'partner' (generated labels)")))
    if not quiet and wrong:
        print(f"first misclassified of {len(wrong)}:")
        for m, v in wrong[:12]:
            print(f"  {'FP' if v.partnership else 'FN'} {v.score:.2f} {m.subject[:90]}")
            for r in v.reasons[:4]:
                print(f"      {r}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "dev")
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--quiet", action="store_true", help="no reasons under misclassified")
    ap.add_argument("--no-generated", action="store_true")
    args = ap.parse_args(argv)
    if args.corpus.is_dir():
        report_dev(args.corpus, args.quiet)
    else:
        print(f"(dev corpus skipped: {args.corpus} not found)")
    if not args.no_generated:
        report_generated(args.messages, args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
