"""Measures on heterogeneous agents against closed forms.

A speaker with 3 symbols and 5 actions, a listener with 8 actions that never speaks. At each
step the speaker says m_t uniformly at random and acts on it: a^S_t = m_t with probability
p, else uniform over its 5 actions. The listener hears m_t at t + 1 and copies it through a
known channel: a^L_(t+1) = m_t with probability q, else uniform over its 8 actions. The exact
values of every measure follow from these two channels (:func:`exact_mi`, computed here with
numpy from the joint tables, independently of the package):

- instantaneous coordination of the speaker's symbol with the listener's next action, and
  the CIC and mean (KL) influence of the speaker's message on the listener, are all
  I(M; A^L) of the listener's channel;
- speaker consistency ("mi") of the speaker is I(M; A^S) of its own channel, on its own 5
  actions; the listener has none (it does not speak);
- nothing from the listener's symbols is reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.stats import analyze
from causal_influence import credited_influence
from causal_influence.trajectory import InfluenceSpec, Trajectory, stored_counterfactuals

M, A_S, A_L = 3, 5, 8
P_SPEAK, Q_COPY = 0.8, 0.7
EPISODES, LENGTH = 80, 250


def channel(p: float, width: int) -> np.ndarray:
    """P(action | symbol), (M, width): the symbol's action with probability p, else uniform."""
    out = np.full((M, width), (1 - p) / width)
    out[np.arange(M), np.arange(M)] += p
    return out


def exact_mi(cond: np.ndarray) -> float:
    """I(M; A) in nats of a uniform symbol through the channel ``cond`` (M, A)."""
    joint = cond / M
    marginal = joint.sum(axis=0)
    ratio = np.where(joint > 0, joint / (marginal[None, :] / M), 1.0)
    return float((joint * np.log(ratio)).sum())


IC_EXACT = exact_mi(channel(Q_COPY, A_L))
SC_EXACT = exact_mi(channel(P_SPEAK, A_S))


def generate(seed: int = 0) -> Trajectory:
    rng = np.random.default_rng(seed)
    t_len = EPISODES * LENGTH
    first = np.arange(t_len) % LENGTH == 0
    symbols = rng.integers(0, M, t_len)
    speaker = np.where(rng.random(t_len) < P_SPEAK, symbols, rng.integers(0, A_S, t_len))
    heard = np.roll(symbols, 1)
    listener = np.where(rng.random(t_len) < Q_COPY, heard, rng.integers(0, A_L, t_len))
    listener[first] = rng.integers(0, A_L, int(first.sum()))  # nothing heard yet
    # the listener's policy at each step under every symbol it could have heard (compute
    # time, as a rollout buffer holds it), moved to the stored next-step layout
    buffer = np.zeros((t_len, 2, 2, M, A_L))
    buffer[:, 0, 1] = np.log(channel(Q_COPY, A_L))
    dones = np.r_[first[1:], True]
    cf = stored_counterfactuals(buffer, alignment="next_step", dones=dones)
    message_logits = np.full((t_len, 2, M), -np.inf)
    message_logits[:, 0] = 0.0  # uniform symbols; the listener has no message head
    listener_logits = np.where(first[:, None], 0.0, np.log(channel(Q_COPY, A_L))[heard])
    influence = credited_influence(  # the reward helper on the buffer, credited to t
        buffer,
        np.zeros((t_len, 2, M)),  # the speaker's uniform message policy
        np.c_[symbols, np.zeros(t_len, int)],
        alignment="next_step",
        influencers=[0],  # the listener says nothing
        dones=dones,
    )
    return Trajectory.from_arrays(
        {
            "actions": {"speaker": speaker, "listener": listener},
            "rewards": {"speaker": np.ones(t_len), "listener": np.ones(t_len)},
            "messages": {"speaker": symbols},  # the listener never speaks: left out
            "message_logits": {"speaker": message_logits[:, 0]},
            "logits": {
                "speaker": np.log(channel(P_SPEAK, A_S))[symbols],
                "listener": listener_logits,
            },
            "influence": influence,
            "counterfactual_logits": cf,
            "dones": dones,
        },
        influence_spec=InfluenceSpec(alignment="next_step", variable="messages"),
    )


@pytest.fixture(scope="module")
def result():
    return analyze(generate(), n_bootstrap=50, n_permutations=50, rng=0)


def test_the_data_describe_the_agents() -> None:
    meta = generate().metadata
    assert (meta.agent_num_actions, meta.agent_num_symbols) == ((A_S, A_L), (M, 0))


def test_coordination_against_the_closed_form(result) -> None:
    ic = result.coordination.set_index(["kind", "subset", "influencer", "influencee"])
    value = ic.loc[("symbol/action", "all", "speaker", "listener"), "value"]
    n = EPISODES * (LENGTH - 1)
    bias = (M - 1) * (A_L - 1) / (2 * n)  # plug-in bias of an independent-sized table
    assert value == pytest.approx(IC_EXACT + bias, abs=0.02)
    assert ic.loc[("symbol/action", "all", "speaker", "listener"), "p_value"] < 0.05
    # the listener's symbols do not exist: no symbol/action row with it as influencer
    kinds = result.coordination.query("influencer == 'listener'")["kind"]
    assert set(kinds) == {"action/action"}


def test_speaker_consistency_against_the_closed_form(result) -> None:
    sc = result.speaker_consistency
    assert set(sc["agent"]) == {"speaker", "all"}  # not applicable to the listener
    mi = sc.query("agent == 'speaker' and definition == 'mi'")["value"].item()
    assert mi == pytest.approx(SC_EXACT, abs=0.01)
    n = sc.query("agent == 'speaker' and definition == 'mi'")["n"].item()
    assert n == EPISODES * LENGTH  # every speaker step; no listener "filler" symbol counted
    # "jaques" normalises by the speaker's own log 5 and log 3, not by the padded 8 actions
    cond = channel(P_SPEAK, A_S)
    joint = cond / M
    h_a_given_m = -(cond * np.log(cond)).sum(axis=1) / np.log(A_S)
    post = joint / joint.sum(axis=0)
    h_m_given_a = -(post * np.log(post)).sum(axis=0) / np.log(M)
    jaques = 0.5 * ((1 - h_a_given_m).mean() + (1 - h_m_given_a).mean())
    value = sc.query("agent == 'speaker' and definition == 'jaques'")["value"].item()
    assert value == pytest.approx(jaques, abs=0.01)
    assert sc.query("agent == 'all' and definition == 'jaques'")["value"].item() == value


def test_cic_and_influence_against_the_closed_form(result) -> None:
    cic = result.cic.set_index(["influencer", "influencee"])
    assert list(cic.index) == [("speaker", "listener")]  # the listener has no messages
    assert cic.loc[("speaker", "listener"), "cic"] == pytest.approx(IC_EXACT, abs=1e-9)
    infl = result.influence.set_index(["influencer", "influencee"])
    assert list(infl.index) == [("speaker", "listener")]
    # every symbol's KL to the marginal is the same, so the mean is exactly I(M; A^L)
    assert infl.loc[("speaker", "listener"), "influence"] == pytest.approx(IC_EXACT, abs=1e-9)


def test_the_cli_reads_a_foreign_table_with_missing_messages(tmp_path: Path, capsys) -> None:
    traj = generate()
    df = traj.to_dataframe(columns=["messages"])
    df.attrs.clear()
    df["agent"] = np.array(traj.metadata.agent_ids)[df["agent"]]
    df["message"] = df["message"].where(df["message"] >= 0)  # NaN for the listener
    df = df.rename(columns={"action": "act", "agent": "who", "message": "said"})
    df.to_csv(tmp_path / "run.csv", index=False)
    code = main(
        [
            "analyze",
            str(tmp_path / "run.csv"),
            "--columns",
            "action=act,agent=who,message=said",
            "--out",
            str(tmp_path / "report"),
            "--bootstrap",
            "20",
            "--permutations",
            "20",
            "--no-progress",
        ]
    )
    assert code == 0
    sc = pd.read_csv(tmp_path / "report" / "speaker_consistency.csv")
    assert set(sc["agent"]) == {"speaker", "all"}
    html = (tmp_path / "report" / "report.html").read_text()
    assert "Not applicable to listener" in html
    assert "analysed" in capsys.readouterr().out
    code = main(["analyze", str(tmp_path / "run.csv"), "--columns", "action", "--out", "x"])
    assert code == 2
    assert "expected OURS=THEIRS pairs" in capsys.readouterr().err
