"""qtdeploy.model.evidence: the Diebold-Mariano statistic that `eval` reports and `train`'s choices
read (``qat._paired_z`` delegates to it), torch-free as the base package needs."""

from __future__ import annotations

import numpy as np

from qtdeploy.model.evidence import paired_z, se_ahead


def test_at_horizon_one_it_is_the_paired_t_statistic() -> None:
    rng = np.random.default_rng(7)
    d = rng.normal(-0.2, 1.0, 40)
    t = d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))
    assert np.isclose(paired_z(d), t, rtol=1e-12)
    assert paired_z(d[:1]) == 0.0  # one window: the spread is unknown
    assert paired_z(np.full(5, -1.0)) == float("-inf")  # ahead on every window by the same amount


def test_se_ahead_is_positive_for_the_better_forecast_and_none_where_undefined() -> None:
    rng = np.random.default_rng(8)
    true = rng.normal(0, 1, (60, 2))
    good = true + rng.normal(0, 0.5, true.shape)
    bad = true + rng.normal(0, 1.0, true.shape)
    ahead = se_ahead(good, bad, true)
    assert ahead is not None and ahead > 2
    behind = se_ahead(bad, good, true)
    assert behind is not None and behind < -2
    # the statistic of the per-window mean squared errors, at the horizon of the windows
    err, base = ((good - true) ** 2).mean(axis=1), ((bad - true) ** 2).mean(axis=1)
    assert ahead == -paired_z(err - base, 2)
    assert se_ahead(bad, bad, true) is None  # a model that ships persistence: no comparison
    assert se_ahead(good[:1], bad[:1], true[:1]) is None  # one window
