"""The difficulty estimate: artefact, API, speed, held-out routing quality, reproducible training."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gatewise.routing.difficulty import ARTEFACT, DifficultyModel, load_default
from repo_paths import REPO, load_bench

ARTEFACT_PATH = REPO / "shared" / "gatewise" / "data" / ARTEFACT

replay = load_bench("routing_replay")
needs_data = pytest.mark.skipif(not replay.data_dir().is_dir(),
                                reason=f"no RouteLLM data at {replay.data_dir()}")

TRIVIAL = ["Hi!", "Thanks, that's all.", "What is 2 + 2?", "What is the capital of France?",
           "Translate 'good morning' into Spanish."]
HARD = [
    "A train leaves at 9:15 and travels 240 km at 80 km/h, then stops for 25 minutes, then continues "
    "150 km at 60 km/h. A second train leaves the same station at 10:00 and travels the whole 390 km at "
    "90 km/h. How many minutes after the first train does the second train arrive, and what fraction of "
    "the trip had the first train completed when the second one departed?",
    "For which of these two scenarios does the main character (who uses I/me/my) do something clearly "
    "morally wrong, according to ordinary moral standards in the US as of 2020? Scenario 1 | I took my "
    "neighbor's newspaper. Scenario 2 | I helped my friend move.\nA. Wrong, Wrong\nB. Wrong, Not wrong\n"
    "C. Not wrong, Wrong\nD. Not wrong, Not wrong\nAnswer:",
    "A landowner conveyed a parcel to a purchaser by a deed containing a covenant against encumbrances. "
    "Unknown to both, a neighbor held an unrecorded easement across the parcel. Which of the following "
    "is the purchaser's strongest claim?\nA. Breach of the covenant of seisin\nB. Breach of the covenant "
    "against encumbrances\nC. Breach of the covenant of quiet enjoyment\nD. Rescission for mutual "
    "mistake\nAnswer:",
]


def test_artefact_is_small_and_loads_once() -> None:
    assert ARTEFACT_PATH.stat().st_size < 1_000_000
    model = load_default()
    assert model is load_default()
    assert model.meta["training"]["rows"] > 7_000


def test_scores_are_bounded_and_deterministic() -> None:
    model = load_default()
    fresh = DifficultyModel.from_json(json.loads(ARTEFACT_PATH.read_text(encoding="utf-8")))
    for text in ["", " ", "ü" * 50, "1" * 20_000, *TRIVIAL, *HARD]:
        score = model.score(text)
        assert 0.0 <= score <= 1.0
        assert score == model.score(text) == fresh.score(text)


def test_rejects_a_foreign_artefact() -> None:
    payload = json.loads(ARTEFACT_PATH.read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match="format"):
        DifficultyModel.from_json({**payload, "format": 99})
    with pytest.raises(ValueError, match="expected"):
        DifficultyModel.from_json({**payload, "open_weights": payload["open_weights"][:-1]})


def test_hard_prompts_score_above_trivial_ones() -> None:
    model = load_default()
    assert max(model.scores(TRIVIAL)) < min(model.scores(HARD))


@needs_data
def test_routes_better_than_random_on_held_out_prompts() -> None:
    # Measured on the test half: strong share for 95 % of strong accuracy, ours vs random, was
    # GSM8K 71.8 vs 81.8 % and MMLU 55.2 vs 71.5 %; APGR 0.599 and 0.627 (random 0.5).
    margins = {"gsm8k": (0.05, 0.56), "mmlu": (0.12, 0.61)}
    model = load_default()
    for name, (min_gap, min_apgr) in margins.items():
        test = [e for e in replay.load_benchmark(name) if replay.in_test_split(e.prompt)]
        ours, random, oracle = replay.compare(test, model.scores([e.prompt for e in test]), 0.95)
        assert random.share_at_target - ours.share_at_target >= min_gap, name
        assert ours.apgr >= min_apgr, name
        assert oracle.share_at_target < ours.share_at_target, name


def test_a_file_with_the_strong_model_below_chance_is_left_out(tmp_path: Path) -> None:
    # A four-choice file where the strong model is right 1 time in 5 records a failure to read its
    # answers: it is neither trained on nor replayed. One at chance (1 in 4) stays.
    folder = tmp_path / "mmlu"
    folder.mkdir()
    (folder / "contaminated_prompts.jsonl").write_text(json.dumps({"eval_prompt": "q-seen"}) + "\n")
    for name, right in (("mmlu_broken.csv", 1), ("mmlu_fine.csv", 2)):
        rows = [(f"{name} q{i}", i < right, True) for i in range(5 if name == "mmlu_broken.csv" else 8)]
        rows.append(("q-seen", True, True))
        with (folder / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["prompt", replay.STRONG_MODEL, replay.WEAK_MODEL])
            writer.writerows((p, str(s), str(w)) for p, s, w in rows)
    kept = replay.load_benchmark("mmlu", tmp_path)
    assert [e.prompt for e in kept] == [f"mmlu_fine.csv q{i}" for i in range(8)]
    assert replay.read_benchmark("mmlu", tmp_path)[1] == ["mmlu_broken.csv"]


def test_replay_skips_without_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GATEWISE_ROUTELLM_DATA", str(tmp_path / "absent"))
    assert replay.main([]) == 0
    assert "skipped" in capsys.readouterr().out


@needs_data
def test_replay_prints_summary_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert replay.main(["--price-ratio", "0.1"]) == 0
    out = capsys.readouterr().out
    for row in ("| difficulty |", "| random |", "| oracle |", "## gsm8k", "## mmlu"):
        assert row in out


# A rebuild on another CPU or BLAS build sums in another order, so L-BFGS may stop a few iterations
# apart: weights then differ by a few units of 1e-4, far below anything that moves a ranking.
WEIGHT_UNITS_TOLERANCE = 8
DENSE_TOLERANCE = 2e-4


@needs_data
@pytest.mark.slow
def test_training_reproduces_the_shipped_artefact(tmp_path: Path) -> None:
    out = tmp_path / ARTEFACT
    # One BLAS thread: on two busy cores OpenBLAS's spinning threads cost four times the CPU, and
    # the result is the same within the tolerance below.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(REPO / "scripts" / "train_difficulty.py"), "--out", str(out)],
                   check=True, capture_output=True, timeout=180, env=env)
    rebuilt, shipped = json.loads(out.read_text()), json.loads(ARTEFACT_PATH.read_text())
    assert rebuilt.keys() == shipped.keys()
    iterations = re.compile(r"\d+ iterations")
    rebuilt["training"]["optimiser"] = iterations.sub("", rebuilt["training"]["optimiser"])
    shipped["training"]["optimiser"] = iterations.sub("", shipped["training"]["optimiser"])
    for key in ("mc_weights", "open_weights"):
        gap = np.abs(np.array(rebuilt.pop(key)) - np.array(shipped.pop(key)))
        assert gap.max() <= WEIGHT_UNITS_TOLERANCE, key
    for key in ("dense_weights", "bias"):
        gap = np.abs(np.array(rebuilt.pop(key)) - np.array(shipped.pop(key)))
        assert gap.max() <= DENSE_TOLERANCE, key
    assert rebuilt == shipped
    prompts = TRIVIAL + HARD
    a = DifficultyModel.from_json(json.loads(out.read_text())).scores(prompts)
    b = load_default().scores(prompts)
    assert np.argsort(a).tolist() == np.argsort(b).tolist()
    assert np.abs(np.array(a) - np.array(b)).max() < 0.01
