"""palrnn's names as people type them (palrnn/names.py): Config and python -m palrnn take a model,
init, optimizer, input or backend in any case and keep one spelling; a near miss gets "did you mean"."""

from __future__ import annotations

import pytest

from palrnn import analysis
from palrnn.__main__ import build_parser, config_from_args, main
from palrnn.cli import UsageError
from palrnn.config import Config, check_model, is_gated
from palrnn.names import canonical, choice_error, did_you_mean


def test_canonical_and_did_you_mean():
    assert canonical(" lstm ", ("RNN", "LSTM")) == "LSTM" and canonical("Xavier", ("seed", "xavier")) == "xavier"
    assert canonical("lstmm", ("RNN", "LSTM")) == "lstmm" and canonical(3, ("RNN",)) == 3
    assert did_you_mean("lstmm", ("RNN", "LSTM", "GRU")) == "; did you mean LSTM?"
    assert did_you_mean("LTSM", ("RNN", "LSTM", "GRU")) == "; did you mean LSTM?"
    assert did_you_mean("TRANSFORMER", ("RNN", "LSTM", "GRU")) == "" and did_you_mean(None, ("RNN",)) == ""
    assert choice_error("adamm", ("rmsprop", "adam")) == "must be one of rmsprop, adam, got 'adamm'; did you mean adam?"


def test_a_config_keeps_one_spelling():
    c = Config(model="lstm", init="Xavier", optimizer="ADAM", input="OneHot", backend="Fused")
    assert (c.model, c.init, c.optimizer, c.input, c.backend) == ("LSTM", "xavier", "adam", "onehot", "fused")
    assert c == Config(model="LSTM", init="xavier", optimizer="adam", input="onehot", backend="fused")
    assert Config(model="gru", init="Chrono").init == "chrono"  # the gated check sees the one spelling
    assert check_model("rnn") == "RNN" and is_gated("gru") and not is_gated("Rnn")
    assert Config.from_dict({"model": "Gru"}).model == "GRU"


@pytest.mark.parametrize(("changes", "message"), [
    ({"model": "lstmm"}, "model: must be one of RNN, LSTM, GRU, or MODULE:CLASS naming an nn.Module subclass "
                         "(docs/extending.md), got 'lstmm'; did you mean LSTM?"),
    ({"init": "xavir"}, "init: must be one of seed, default, xavier, orthogonal, chrono, got 'xavir'; "
                        "did you mean xavier?"),
    ({"optimizer": "Adamw"}, "optimizer: must be one of rmsprop, adam, sgd, got 'Adamw'; did you mean adam?"),
    ({"input": "onehott"}, "input: must be one of scalar, onehot, got 'onehott'; did you mean onehot?"),
    ({"model": "GPT"}, "model: must be one of RNN, LSTM, GRU, or MODULE:CLASS naming an nn.Module subclass "
                       "(docs/extending.md), got 'GPT'"),
    ({"init": "zeros"}, "init: must be one of seed, default, xavier, orthogonal, chrono, got 'zeros'"),
])
def test_a_bad_name_says_what_is_allowed_and_what_was_meant(changes, message):
    with pytest.raises(ValueError) as exc:
        Config(**changes)
    assert str(exc.value) == message


def test_the_command_line_takes_names_in_any_case_and_the_fields_own_names():
    args = build_parser().parse_args(["--model", "gru", "--init", "Orthogonal", "--optimizer", "SGD",
                                      "--max_norm", "2", "--batch_size", "16"])
    c = config_from_args(args)
    assert (c.model, c.init, c.optimizer, c.max_norm, c.batch_size) == ("GRU", "orthogonal", "sgd", 2.0, 16)
    assert config_from_args(build_parser().parse_args(["--max-norm", "none"])).max_norm is None


def test_the_help_names_the_gru_and_not_the_underscored_aliases():
    text = " ".join(build_parser().format_help().split())
    assert "RNN, LSTM or GRU" in text and "--max-norm" in text and "--max_norm" not in text


@pytest.mark.parametrize(("argv", "expected"), [
    (["--model", "lstmm"], "--model: must be one of RNN, LSTM, GRU, or MODULE:CLASS"),
    (["--init", "Xavir"], "--init: must be one of seed, default, xavier, orthogonal, chrono, got 'Xavir'; "
                          "did you mean xavier?"),
    (["--max-nrom", "1"], "unrecognized arguments: --max-nrom 1; did you mean --max-norm?"),
])
def test_a_bad_name_on_the_command_line_is_one_line_exit_2_nothing_written(argv, expected, tmp_path, capsys,
                                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--save", str(tmp_path / "m.pt")])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and expected in err, err
    if argv[0] == "--model":
        assert err.strip().endswith("got 'lstmm'; did you mean LSTM?"), err
    assert list(tmp_path.iterdir()) == []


def test_analysis_takes_names_in_any_case():
    assert analysis._names(["lstm,Rnn"], ("RNN", "LSTM", "GRU"), "--models") == ["RNN", "LSTM"]
    with pytest.raises(UsageError, match=r"^--inits: must be one or more of seed, xavier, got 'xavir'; "
                                         r"did you mean xavier\?$"):
        analysis._names(["xavir"], ("seed", "xavier"), "--inits")
    with pytest.raises(UsageError, match=r"got 'zeros'$"):
        analysis._names(["zeros"], ("seed", "xavier"), "--inits")
