"""Seeds as a dimension: results merged over seeds, numbers that carry their spread,
and claims that must hold beyond the noise (lab.spread, sitegen.render.measured)."""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import build as cli
from lab import spread
from sitegen.render import measured


def test_merge_keeps_what_the_seeds_agree_on_and_summarises_the_rest():
    runs = [{"params": 270, "err": 0.10, "curve": [0.5, 0.2], "best": "a"},
            {"params": 270, "err": 0.12, "curve": [0.5, 0.3], "best": "b"},
            {"params": 270, "err": 0.14, "curve": [0.5, 0.1], "best": "a"}]
    out = spread.merge(runs, [0, 1, 2])
    assert out["params"] == 270 and out["curve"][0] == 0.5
    err = out["err"]
    assert spread.is_spread(err) and err["n"] == 3 and err["seeds"] == [0, 1, 2]
    assert err["values"] == [0.10, 0.12, 0.14] and (err["min"], err["max"]) == (0.10, 0.14)
    assert err["mean"] == pytest.approx(0.12) and err["sd"] == pytest.approx(0.02)  # sample sd
    assert out["curve"][1]["values"] == [0.2, 0.3, 0.1]
    assert out["best"] == ["a", "b", "a"]  # text that differs: every seed's
    assert spread.means(out)["err"] == pytest.approx(0.12)


def test_a_diverged_seed_is_kept_but_not_averaged():
    s = spread.summarize([0.2, None, 0.4], [0, 1, 2])
    assert s["n"] == 2 and s["mean"] == pytest.approx(0.3) and s["values"] == [0.2, None, 0.4]


@pytest.mark.parametrize("a, b, sign, expected", [
    ([0.10, 0.11, 0.12], [0.20, 0.21, 0.22], -1, (True, True)),    # far apart: beyond the noise
    ([0.153, 0.150, 0.156], [0.154, 0.149, 0.158], -1, (True, False)),  # 0.04 points apart: noise
    ([0.153, 0.150, 0.156], [0.154, 0.149, 0.158], +1, (False, False)),  # wrong on the means too
])
def test_the_rule_is_twice_the_standard_error_of_the_difference(a, b, sign, expected):
    sa, sb = spread.summarize(a, [0, 1, 2]), spread.summarize(b, [0, 1, 2])
    assert spread.beyond_noise(sa, sb, sign) == expected
    se = math.sqrt(sa["sd"] ** 2 / 3 + sb["sd"] ** 2 / 3)
    assert spread.standard_error(sa, sb) == pytest.approx(se)


def test_one_seed_on_each_side_compares_the_values():
    one = spread.summarize([0.3], [0])
    assert spread.beyond_noise(one, 0.2, +1) == (True, True)
    assert spread.beyond_noise(one, 0.4, +1) == (False, False)


def test_seeds_do_arithmetic_seed_by_seed_and_compare_beyond_the_noise():
    a = measured.Seeds(spread.summarize([1.0, 2.0, 3.0], [0, 1, 2]), ("x", ("a",)))
    b = measured.Seeds(spread.summarize([2.0, 2.0, 5.0], [0, 1, 2]), ("x", ("b",)))
    diff = b - a
    assert [float(v) for v in diff] == [1.0, 0.0, 2.0] and diff.mean == pytest.approx(1.0)
    assert [float(v) for v in 10 * a] == [10.0, 20.0, 30.0]
    assert [float(v) for v in 6 / a] == [6.0, 3.0, 2.0]
    assert len(a) == 3 and float(a[1]) == 2.0 and a.seeds == (0, 1, 2)
    with measured.noted() as notes:
        assert not (b > a)      # true on the means (3 > 2), inside the noise
        assert (10 * b > a) and (a < 100)
    assert len(notes) == 1 and "x/b" in notes[0] and "x/a" in notes[0] and "n = 3" in notes[0]
    from sitegen.errors import BuildError

    with pytest.raises(BuildError, match="seeds"):  # the author's mistake: one line, not a traceback
        a + measured.Seeds(spread.summarize([1.0, 2.0], [0, 1]))
    assert "{:.1f}".format(a) == "2.0"  # a format prints the mean
    assert "\u00a0±\u00a0" in str(a) and "result-number" in str(a)  # printed: the summary, marked


CHAPTER = """\
---
title: Timing
claims:
  - result("depth_sweep", "resnet8", "{metric}") < 1e6
  - result("depth_sweep", "resnet8", "{metric}") {op} result("depth_sweep", "resnet8", "{metric}") - {margin}
---

ResNet-8 measured {{{{ result("depth_sweep", "resnet8", "{metric}", fmt="{{:.3f}}") }}}},
{{{{ result("depth_sweep", "resnet8", "{metric}", fmt="{{:.3f}}", spread=False) }}}} on average;
seeds {{{{ value("depth_sweep", "resnet8", "{metric}").seeds | join(", ") }}}}.
"""


def _a_metric_the_seeds_disagree_on(root) -> str:
    """The quick profile trains ResNet-8 from two seeds. Its errors are counts over a
    tiny test set and its time is rounded to 10 ms, so any one of them may come out
    the same for both seeds (CI once timed both at the same 10 ms). At least one differs.
    A first build that only quotes the mean makes the result."""
    from lab.store import ResultStore

    (root / "content" / "03-timing.md").write_text(
        '---\ntitle: Timing\n---\n\n{{ result("depth_sweep", "resnet8", "test_error", spread=False) }}\n')
    assert cli.main(["--root", str(root), "-q", "build"]) == 0
    from sitegen.project import load_project
    from sitegen.render.results import ResultsView

    view = ResultsView(ResultStore(load_project(root).results), "quick")
    for metric in ("train_error", "test_error", "best_test_error", "train_seconds"):
        if spread.is_spread(view.load("depth_sweep").get("resnet8", metric)):
            return metric
    raise AssertionError("both seeds measured the same ResNet-8 on every metric")


@pytest.mark.parametrize("margin, ok", [("1e6", True), ("1e-9", False)])
def test_a_claim_true_on_the_means_but_inside_the_noise_fails_the_build(built_copy, capsys, margin, ok):
    """A claim that must pass (line 4) sits a million units from its bound; the one that
    must fail (line 5) is true on the means by 1e-9 and so inside any spread."""
    from lab.experiments.profiles import SEEDS

    assert len(SEEDS["quick"]) >= 2
    metric = _a_metric_the_seeds_disagree_on(built_copy)
    chapter = built_copy / "content" / "03-timing.md"
    chapter.write_text(CHAPTER.format(op=">", margin=margin, metric=metric))
    code = cli.main(["--root", str(built_copy), "-q", "build"])
    err = capsys.readouterr().err.strip()
    if ok:
        assert code == 0, err
        html = (built_copy / "site" / "index.html").read_text()
        text = re.sub(r"<[^>]+>", "", html)
        assert re.search(r"ResNet-8 measured \d+\.\d{3}\s±\s\d+\.\d{3},\s+\d+\.\d{3} on average", text)
        assert re.search(r"seeds 0, 1", text)
    else:
        assert code == 1 and len(err.splitlines()) == 1, err
        assert "03-timing.md:5: claim holds on the means but not beyond the noise" in err, err
        # both summaries, each with its n and seeds
        assert err.count("n = 2, seeds 0, 1") == 2, err


def test_an_unknown_leaf_lists_its_neighbours(tmp_path):
    from lab.store import ResultStore
    from sitegen.errors import BuildError
    from sitegen.render.results import ResultsView

    store = ResultStore(tmp_path)
    store.save("toy", "quick", "k" * 64, {}, {}, {"resnet8": {"test_error": 0.5, "params": 7}, "summary": {}}, {}, {})
    view = ResultsView(store, "quick")
    with pytest.raises(BuildError, match=r"metrics of toy/resnet8: params, test_error$"):
        view.value("toy", "resnet8", "tset_error")
    with pytest.raises(BuildError, match=r"metrics of toy: resnet8, summary$"):
        view.value("toy", "resnet9", "test_error")


def test_prose_helpers_rank_by_the_mean_and_compare_in_three_cases(tmp_path):
    """ranked() orders by the mean, compare() says -1, 0 or +1 (0: the seeds cannot tell),
    mean() and `| max` take the mean, lowest() and highest() the extreme seeds, seeds() says
    what the result was measured on."""
    from lab.store import ResultStore
    from sitegen.render import results
    from sitegen.sandbox import AuthorEnvironment

    s = lambda *v: spread.summarize(list(v), [0, 1, 2])  # noqa: E731
    metrics = {"a": {"err": s(0.10, 0.11, 0.12)}, "b": {"err": s(0.30, 0.31, 0.32)},
               "c": {"err": s(0.115, 0.135, 0.105)}, "d": {"err": s(None, None, None)},
               "blocks": {"mixed": ["layer1.1", "layer1.0", "layer1.0"], "same": ["x", "x", "x"], "one": "y"}}
    ResultStore(tmp_path).save("toy", "quick", "k" * 64, {}, {"seeds": [0, 1, 2]}, metrics, {}, {})
    view = results.ResultsView(ResultStore(tmp_path), "quick")
    h = view.helpers(set(), [])
    assert h["ranked"]("toy", ["b", "d", "c", "a"], "err") == ("a", "c", "b", "d")  # no value: last
    assert h["seeds"]("toy") == (0, 1, 2)
    a, b, c = (h["value"]("toy", n, "err") for n in "abc")
    assert (h["compare"](a, b), h["compare"](b, a), h["compare"](a, c)) == (-1, 1, 0)
    assert h["compare"](2, 3) == -1 and h["mean"](a) == pytest.approx(0.11) and h["mean"](0.5) == 0.5
    assert (h["lowest"](c), h["highest"](c), h["lowest"](3), h["highest"](2.5)) == (0.105, 0.135, 3, 2.5)
    points = h["result"]("toy", "a", "err", fmt="{:.1f}", scale=100)  # percentage points
    assert "}11.0\u00a0±\u00a01.0`" in points and 'data-derived="true"' in points and 'data-path="a/err"' in points
    assert "}0.11\u00a0±\u00a00.01`" in h["result"]("toy", "a", "err", fmt="{:.2f}")
    out = AuthorEnvironment().from_string("{{ (xs | max).mean }} {{ (xs | min).mean }} {{ [3, 1, 2] | max }}").render(xs=[b, a, c])
    assert out == f"{b.mean} {a.mean} 3"
    # a label stored once per seed, grouped (was printed as a Python tuple)
    assert h["by_seed"]("toy", "blocks", "mixed") == "`layer1.1` on seed 0 and `layer1.0` on seeds 1 and 2"
    assert h["by_seed"]("toy", "blocks", "same") == "`x` on every seed"
    assert h["by_seed"]("toy", "blocks", "one") == "`y`"


def test_result_of_one_seed_prints_that_seeds_value_and_its_card_says_so(tmp_path):
    """`seed=`: prose about one network (one shown live) quotes its own number, not the mean
    of its seeds; its card is that seed's value; a seed not measured is the author's error."""
    from lab.store import ResultStore
    from sitegen.errors import BuildError
    from sitegen.render import numbers, results

    store = ResultStore(tmp_path)
    store.save("toy", "quick", "k" * 64, {}, {"seeds": [0, 1, 2]},
               {"a": {"err": spread.summarize([0.10, 0.11, 0.13], [0, 1, 2])}}, {}, {})
    store.save("one", "quick", "k" * 64, {}, {"seeds": [0]}, {"a": {"err": 0.25}}, {}, {})
    h = results.ResultsView(store, "quick").helpers(set(), [])
    printed = h["result"]("toy", "a", "err", fmt="{:.2f}", seed=1)
    assert "}0.11`" in printed and "±" not in printed and 'data-path="a/err/seed/1"' in printed
    assert "}0.25`" in h["result"]("one", "a", "err", fmt="{:.2f}", seed=0)
    cards = numbers.sources([printed], store, "quick", [])["numbers"]
    assert cards["toy/a/err/seed/1"]["what"] == "seed 1's value of err" and cards["toy/a/err/seed/1"]["seed"] == 1
    with pytest.raises(BuildError, match=r"toy/a/err was measured on seeds 0, 1, 2, not 7$"):
        h["result"]("toy", "a", "err", seed=7)
    with pytest.raises(BuildError, match=r"one/a/err was measured on seed 0, not 1$"):
        h["result"]("one", "a", "err", seed=1)


@pytest.mark.parametrize("values, fmt, text", [
    ([0.169, 0.1691, 0.1692], "{:.1%}", "16.9%\u00a0±\u00a00.01%"),  # a spread the format would round away
    ([4.1, 4.3, 4.2], "{:,.0f}", "4\u00a0±\u00a00.1"),
    ([3.2, 3.3, 3.4], "{:.1f}", "3.3\u00a0±\u00a00.1"),
    ([1.0, 1.0, 1.0], "{:.1f}", "1.0\u00a0±\u00a00.0"),              # no spread: none shown
])
def test_a_spread_never_prints_as_zero_unless_it_is(values, fmt, text):
    from sitegen.render.results import format_value

    assert measured.Seeds(spread.summarize(values, [0, 1, 2])).text(fmt, True, format_value) == text


def test_every_experiment_analyses_only_seeds_its_profile_trains():
    """An experiment's seeds are its profile's (SEEDS) or fewer: the one-GPU profiles copy
    cifar10-10ep's settings, not its seeds, so a GPU run never asks for networks it does not
    train (they did copy a `seeds: [0, 1, 2]` override, and so asked for seeds 1 and 2)."""
    from lab.experiments import load_all
    from lab.experiments.profiles import GPU_EPOCHS, SEEDS

    for exp in load_all().values():
        for profile in exp.profiles:
            assert set(exp.seeds(profile)) <= set(SEEDS[profile]), (exp.name, profile, exp.seeds(profile))
    assert all(f"cifar10-{n}ep" in exp.profiles for n in GPU_EPOCHS for exp in load_all().values())


def test_seed_rankings_reports_each_comparison_under_the_builds_rule(tmp_path, capsys):
    """scripts/seed_rankings.py: the closing notes' "rankings that survived" come from the
    same rule as the claims, one line a comparison, and one seed is never called beyond noise."""
    import importlib.util

    from lab.store import ResultStore

    spec = importlib.util.spec_from_file_location("seed_rankings", Path(cli.__file__).parent / "scripts" / "seed_rankings.py")
    rankings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rankings)
    s = lambda *v: spread.summarize(list(v), [0, 1, 2])  # noqa: E731
    store = ResultStore(tmp_path)
    store.save("depth_sweep", "quick", "k" * 64, {}, {"seeds": [0, 1, 2]}, {
        "plain8": {"train_error": s(0.19, 0.20, 0.21), "test_error": s(0.20, 0.21, 0.22)},
        "plain14": {"train_error": s(0.45, 0.46, 0.47), "test_error": s(0.44, 0.45, 0.46)},
        "resnet8": {"train_error": s(0.15, 0.16, 0.17), "test_error": s(0.160, 0.170, 0.180)},
        "resnet14": {"train_error": s(0.14, 0.15, 0.16), "test_error": s(0.165, 0.168, 0.171)}}, {}, {})
    store.save("lesion", "quick", "k" * 64, {}, {"seeds": [0]}, {
        "resnet14": {"stage1": {"mean_increase": 0.05}, "stage2": {"mean_increase": 0.01}}}, {}, {})
    lines = rankings.rankings(store, "quick")
    assert "- plain-8 train_error < plain-14: 20.0 ± 1.0 % (n = 3) vs 46.0 ± 1.0 % (n = 3): " \
           "**holds beyond the noise**" in lines
    assert any(x.startswith("- ResNet-14 test_error < ResNet-8:") and x.endswith("inside the noise**") for x in lines)
    assert "- stage2 < stage1: 1.0 % vs 5.0 %: **holds on one seed each, no spread to test**" in lines
    assert not any("architectures" in x.lower() for x in lines)  # no stored result: no section


def test_a_path_into_the_data_is_merged_over_the_seeds_and_quote_prints_its_spread(tmp_path):
    """The data's top level is the first seed's (the figures read per_seed): prose that walks
    into it (a curve's last point) reads every seed's value, not seed 0's as if it were all,
    and a number computed from such values prints with its spread and its source."""
    from lab.store import ResultStore
    from sitegen.errors import BuildError
    from sitegen.render import results

    per_seed = {"0": {"curves": {"a": [0.9, 0.5]}, "depths": [8, 14]},
                "1": {"curves": {"a": [0.8, 0.3]}, "depths": [8, 14]},
                "2": {"curves": {"a": [0.7, 0.4]}, "depths": [8, 14]}}
    store = ResultStore(tmp_path)
    store.save("toy", "quick", "k" * 64, {}, {"seeds": [0, 1, 2]}, {"x": spread.summarize([1, 2, 3], [0, 1, 2])},
               {**per_seed["0"], "per_seed": per_seed}, {})
    stored = store.load("toy", "quick")
    last = stored.get("curves", "a", "1")
    assert spread.is_spread(last) and last["values"] == [0.5, 0.3, 0.4] and last["mean"] == pytest.approx(0.4)
    assert stored.get("depths") == [8, 14]  # what the seeds share stays as it is
    assert stored.data["curves"]["a"] == [0.9, 0.5]  # the figures' view is untouched
    h = results.ResultsView(store, "quick").helpers(set(), [])
    curve = h["value"]("toy", "curves", "a")
    assert h["mean"](curve[-1]) == pytest.approx(0.4)
    drop = h["quote"](100 * (curve[0] - curve[-1]), "{:.1f}")  # seed by seed: 40, 50, 30
    assert "}40.0\u00a0±\u00a010.0`" in drop and 'data-path="curves/a/0"' in drop and 'data-derived="true"' in drop
    assert h["quote"](2.5, "{:.1f}") == "2.5"
    with pytest.raises(BuildError, match="quote\\(\\) prints a number"):
        h["quote"]("text")


@pytest.mark.parametrize("seeds", [[0, 1, 2], [0]])
def test_the_opening_poster_draws_the_means_with_the_seeds_spread(tmp_path, seeds):
    """The poster's depth chart compares trained networks like Figure 1: the mean of the
    seeds with a bar from the lowest to the highest, and a line that says so; one seed, none."""
    from lab.store import ResultStore
    from sitegen.render import opening

    def err(*v):
        return spread.summarize(list(v), seeds) if len(seeds) > 1 else v[0]
    plain = {20: (0.19, 0.18, 0.20), 56: (0.45, 0.43, 0.49)}
    res = {20: (0.15, 0.15, 0.16), 56: (0.13, 0.13, 0.14)}
    metrics = {**{f"plain{d}": {"train_error": err(*v)} for d, v in plain.items()},
               **{f"resnet{d}": {"train_error": err(*v)} for d, v in res.items()}, "summary": {"epochs": 10}}
    ResultStore(tmp_path).save("depth_sweep", "quick", "k" * 64, {}, {"seeds": seeds}, metrics, {}, {})
    svg = opening.svg(ResultStore(tmp_path), "quick", "T")
    bars = re.findall(r'<path class="tp-(plain|resnet)-bar"', svg)
    if len(seeds) > 1:
        assert bars.count("plain") == 2 and "mean of 3 seeds; bars: lowest to highest" in svg
        assert "plain-56: 46%" in svg  # the mean, (0.45 + 0.43 + 0.49) / 3
    else:
        assert bars == [] and "seeds" not in svg and "plain-56: 45%" in svg
