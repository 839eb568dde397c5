"""Class files and configuration merging (no Spark)."""

import json

import pytest

from classsim_spark.io.classes import ClassListError, read_class_names, write_classes_csv
from classsim_spark.io.config import ConfigError, load_config, similarity_kwargs


def test_class_files_in_every_format(tmp_path):
    (tmp_path / "a.csv").write_text("class_id,name,level1\n1,dog,animal\n0,car,vehicle\n")
    (tmp_path / "b.json").write_text(json.dumps({"classes": ["x", "y"]}))
    (tmp_path / "c.json").write_text(json.dumps({"1": "y", "0": "x"}))
    (tmp_path / "d.txt").write_text("alpha\n\nbeta, with comma\n")
    assert read_class_names(tmp_path / "a.csv") == ["car", "dog"]
    assert read_class_names(tmp_path / "b.json") == ["x", "y"]
    assert read_class_names(tmp_path / "c.json") == ["x", "y"]
    assert read_class_names(tmp_path / "d.txt") == ["alpha", "beta, with comma"]


def test_results_classes_csv_round_trips_odd_names(tmp_path):
    names = ["a,b", 'quote"d', "<b>bold</b>", "ünïcode", "two\nlines", "tab\there"]
    write_classes_csv(names, tmp_path / "classes.csv")
    assert read_class_names(tmp_path / "classes.csv") == names


def test_a_byte_order_mark_keeps_the_class_order(tmp_path):
    """Spreadsheet programs write UTF-8 with a byte-order mark; the class_id column must still
    be seen (it was read as '\\ufeffclass_id' and the file order used instead)."""
    path = tmp_path / "classes.csv"
    path.write_text("class_id,name\n1,dog\n0,cat\n", encoding="utf-8-sig")
    assert read_class_names(path) == ["cat", "dog"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("dup.txt", "a\nb\na\n", "1 duplicate class names, e.g. 'a'"),
        ("gap.csv", "index,name\n0,a\n2,b\n", "indices must be exactly 0..1"),
        ("noname.csv", "id,label\n0,a\n", "header with a 'name' column"),
        ("empty.txt", "\n", "no class names"),
    ],
)
def test_bad_class_files(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(ClassListError, match=message):
        read_class_names(tmp_path / name)
    with pytest.raises(ClassListError, match="not found"):
        read_class_names(tmp_path / "missing.csv")


def test_config_precedence_defaults_file_cli(tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text(
        '[input]\nsource = "s.parquet"\nlayout = "wide"\nprefix = "p_"\nwhere = ""\n'
        '[similarity]\ntransforms = ["rank"]\n[output]\ndir = "out"\n'
        '[spark.conf]\n"spark.x" = "1"\n'
    )
    cfg = load_config(
        conf, {"input.layout": "long", "input.prefix": None, "scores.kind": "probabilities"}
    )
    assert cfg["input"]["layout"] == "long"  # command line wins
    assert cfg["input"]["prefix"] == "p_"  # None override = not given
    assert cfg["input"]["where"] is None  # "" = not set
    assert cfg["scores"]["kind"] == "probabilities"
    assert cfg["scores"]["activation"] == "softmax"  # default
    assert cfg["spark"]["conf"] == {"spark.x": "1"}
    kwargs = similarity_kwargs(cfg)
    assert kwargs["transforms"] == ["rank"] and kwargs["data"] == "s.parquet"
    assert kwargs["out"] == "out" and kwargs["scores"] == "probabilities"


def test_config_rejects_unknown_keys_and_missing_input(tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text('[input]\nsorce = "x"\n')
    with pytest.raises(ConfigError, match=r"unknown setting input.sorce"):
        load_config(conf)
    conf.write_text("[inputs]\n")
    with pytest.raises(ConfigError, match=r"unknown section \[inputs\]"):
        load_config(conf)
    with pytest.raises(ConfigError, match="no input"):
        similarity_kwargs(load_config())


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[scores]\neps = "tiny"', r"scores.eps must be a number, got 'tiny'"),
        (
            '[similarity]\ndrop_invalid = "no"',
            r"similarity.drop_invalid must be true or false, "
            r"got 'no'",
        ),
        ("[similarity]\nsample_rows = 1.5", r"similarity.sample_rows must be an integer, got 1.5"),
        (
            '[similarity]\ntransforms = ["logit", "nonsense"]',
            r"similarity.transforms must be one of auto, all, logit, probability, rank; "
            r"got 'nonsense'",
        ),
        (
            '[scores]\nkind = "logit"',
            r"scores.kind must be one of logits, probabilities, "
            r"log-probabilities; got 'logit'",
        ),
        ("[render]\nworkers = true", r"render.workers must be an integer, got True"),
        ('[analysis]\nlinkage = "median"', r"analysis.linkage must be one of auto, complete"),
        ("[spark]\nconf = 3", r"spark.conf must be a table, got 3"),
    ],
)
def test_config_values_of_the_wrong_type_or_choice_are_refused(tmp_path, toml, message):
    conf = tmp_path / "c.toml"
    conf.write_text(toml + "\n")
    with pytest.raises(ConfigError, match=message) as err:
        load_config(conf)
    assert str(conf) in str(err.value)  # names the file


def test_config_accepts_what_the_cli_and_files_give():
    config = load_config(
        overrides={
            "similarity.transforms": ["rank"],
            "scores.eps": 1,
            "similarity.stability_parts": 4,
            "input.classes": ["a", "b"],
            "render.cutoff": 0.2,
        }
    )
    assert config["scores"]["eps"] == 1 and config["similarity"]["transforms"] == ["rank"]
    with pytest.raises(ConfigError, match="command line: similarity.transforms must be one of"):
        load_config(overrides={"similarity.transforms": ["nonsense"]})
