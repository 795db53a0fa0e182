"""reclassify: after the rules change, every stored verdict is what ingest would now give, and
only the messages whose verdict changed are written (real SQLite store, the bundled archives)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from digest.classify import classify, load_rules
from digest.ingest import ingest_paths
from digest.model import Verdict
from digest.reclassify import reclassify
from digest.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parents[1]
ARCHIVES = sorted((REPO / "archives").iterdir())


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "s.sqlite3")
    ingest_paths(ARCHIVES, s, workers=1)
    yield s
    s.close()


def verdicts(store: SQLiteStore) -> dict[str, Verdict | None]:
    return {r.message.key: r.verdict for r in store.iter_records()}


def test_verdicts_made_by_the_current_rules_are_not_read_again(store):
    before = verdicts(store)
    rules = load_rules()
    assert {v.rules for v in before.values()} == {rules.fingerprint}
    assert store.stale_verdicts(rules.fingerprint) == 0
    summary = reclassify(store, rules)
    assert (summary.checked, summary.changed, summary.flips) == (0, 0, [])
    assert "every stored verdict was made by the current rules" in summary.line()
    everything = reclassify(store, rules, everything=True)
    assert (everything.checked, everything.changed, everything.flips) == (len(before), 0, [])
    assert verdicts(store) == before


def test_other_rules_make_every_verdict_stale_until_reclassified(store):
    other = load_rules(threshold=0.3)
    assert other.fingerprint != load_rules().fingerprint
    total = store.stats()["messages"]
    assert store.stale_verdicts(other.fingerprint) == total
    first = reclassify(store, other, batch=4)
    assert first.checked == total and store.stale_verdicts(other.fingerprint) == 0
    # verdicts whose score and reasons stay the same are written too, to record the rules
    assert first.changed < total
    assert reclassify(store, other).checked == 0


def test_an_interrupted_run_goes_on_where_it_stopped(store):
    other = load_rules(threshold=0.05)
    records = list(store.iter_records(stale_for=other.fingerprint))
    half = records[: len(records) // 2]
    store.set_verdicts([(r.message.key, classify(r.message, r.links, other)) for r in half])
    rest = reclassify(store, other)
    assert rest.checked == len(records) - len(half)
    assert store.stale_verdicts(other.fingerprint) == 0


def test_new_rules_give_every_message_the_verdict_a_fresh_ingest_would(store, tmp_path):
    eager = load_rules(threshold=0.05)
    summary = reclassify(store, eager)
    assert summary.flips and all(f.after.partnership for f in summary.flips)
    fresh = SQLiteStore(tmp_path / "fresh.sqlite3")
    ingest_paths(ARCHIVES, fresh, workers=1, rules=eager)
    assert verdicts(store) == verdicts(fresh)
    fresh.close()
    again = reclassify(store, eager)
    assert (again.changed, again.flips) == (0, [])
    assert summary.line().startswith(f"reclassified {summary.checked} messages in ")
    assert f"{len(summary.flips)} now partnership, 0 no longer" in summary.line()


def test_a_dry_run_reports_the_flips_and_writes_nothing(store):
    before = verdicts(store)
    summary = reclassify(store, load_rules(threshold=0.99), dry_run=True)
    assert summary.flips and not any(f.after.partnership for f in summary.flips)
    assert summary.line().endswith("(dry run: nothing written)")
    assert verdicts(store) == before


def test_every_stored_message_is_read_once_in_batches_whatever_their_size(store):
    keys = [r.message.key for r in store.iter_records()]
    assert len(keys) == len(set(keys)) == store.stats()["messages"]
    assert [r.message.key for r in store.iter_records(batch=3)] == keys
    seen = []
    reclassify(store, load_rules(threshold=0.05), batch=4, progress=seen.append)
    assert seen[-1] == len(keys) and seen == sorted(seen)


def test_set_verdicts_replaces_whatever_was_stored_and_counts_real_changes(store):
    record = next(r for r in store.iter_records() if r.verdict and r.verdict.partnership)
    lower = Verdict(False, 0.01)
    assert store.set_verdicts([(record.message.key, lower), ("nobody@example.org", lower)]) == 1
    assert store.get(record.message.key).verdict == lower
    assert store.set_verdicts([(record.message.key, lower)]) == 0


def test_the_command_lists_flips_and_a_summary_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(PYTHONPATH=str(REPO), HOME=str(tmp_path))
    db = str(tmp_path / "c.sqlite3")

    def digest(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "digest.cli", "--store", db, *args],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    assert digest("ingest", *map(str, ARCHIVES)).returncode == 0
    config = tmp_path / "digest.toml"
    config.write_text("[classify]\nthreshold = 0.05\n", encoding="utf-8")
    built = digest("--config", str(config), "build", "--week", "latest")
    assert built.returncode == 0 and "warning: " in built.stderr
    assert "stored verdicts were made by other classification rules" in built.stderr
    assert "digest reclassify" in built.stderr
    dry = digest("--config", str(config), "reclassify", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    *flips, last = dry.stdout.splitlines()
    assert flips and all(line.startswith("+ ") for line in flips)
    assert last.endswith("(dry run: nothing written)")
    done = digest("--config", str(config), "reclassify", "--json")
    assert done.returncode == 0 and len(done.stdout.splitlines()) == len(flips)
    assert "reclassified" in done.stderr
    assert "warning" not in digest("--config", str(config), "build", "--week", "latest").stderr
    again = digest("--config", str(config), "reclassify")
    assert again.stdout.startswith("reclassified 0 messages: every stored verdict was made by")
    redo = digest("--config", str(config), "reclassify", "--all")
    assert redo.stdout.splitlines() == [redo.stdout.strip()]
    assert " 0 verdicts changed, 0 now partnership, 0 no longer" in redo.stdout
