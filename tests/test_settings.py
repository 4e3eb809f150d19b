"""Settings: environment variables, flags that win, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.base.settings import Settings, SettingsError


def test_defaults_work_on_a_laptop():
    settings = Settings.from_env({})
    assert settings.home == Path("papersearch-data")
    assert settings.db_url == f"sqlite:///{Path('papersearch-data/papersearch.sqlite3').resolve()}"
    assert settings.base_model == "allenai/specter2_base"
    assert settings.paper_adapter == "allenai/specter2"
    assert settings.query_adapter == "allenai/specter2_adhoc_query"
    assert (settings.model_revision, settings.pooling, settings.device) == ("main", "cls", "auto")


def test_environment_variables_and_flags_that_win(tmp_path):
    env = {
        "PAPERSEARCH_HOME": str(tmp_path),
        "PAPERSEARCH_DATABASE_URL": "sqlite:////elsewhere.db",
        "PAPERSEARCH_BASE_MODEL": "org/base",
        "PAPERSEARCH_PAPER_ADAPTER": "none",
        "PAPERSEARCH_QUERY_ADAPTER": "None",
        "PAPERSEARCH_MODEL_REVISION": "abc123",
        "PAPERSEARCH_POOLING": "MEAN",
        "PAPERSEARCH_DEVICE": "cpu",
        "PAPERSEARCH_NPROBE": "32",
        "PAPERSEARCH_INDEX_MEMORY": "1.5GiB",
    }
    settings = Settings.from_env(env)
    assert settings.home == tmp_path and settings.db_url == "sqlite:////elsewhere.db"
    assert settings.paper_adapter is None and settings.query_adapter is None
    assert (settings.model_revision, settings.pooling, settings.device) == ("abc123", "mean", "cpu")
    assert settings.nprobe == 32 and settings.index_memory == int(1.5 * 2**30)
    assert Settings.from_env({}, index_memory="800MB").index_memory == 800_000_000
    flagged = Settings.from_env(env, pooling="cls", base_model="other/base", nprobe=None)
    assert (flagged.pooling, flagged.base_model, flagged.nprobe) == ("cls", "other/base", 32)


@pytest.mark.parametrize(
    "env",
    [
        {"PAPERSEARCH_POOLING": "max"},
        {"PAPERSEARCH_DEVICE": "tpu"},
        {"PAPERSEARCH_BATCH_SIZE": "many"},
        {"PAPERSEARCH_NPROBE": "0"},
        {"PAPERSEARCH_INDEX_MEMORY": "2000"},
        {"PAPERSEARCH_INDEX_MEMORY": "2 bananas"},
        {"PAPERSEARCH_INDEX_MEMORY": "0GB"},
    ],
)
def test_bad_values_name_the_variable(env):
    with pytest.raises(SettingsError, match="PAPERSEARCH_|batch_size"):
        Settings.from_env(env)


def test_the_documented_configuration_table_is_the_generated_one():
    from search.base.settings import markdown_table

    docs = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    assert markdown_table() in docs.read_text(), "regenerate it: python -m search.base.settings"


def test_every_flagged_setting_is_a_flag_of_every_command():
    from click.testing import CliRunner

    from papersearch import main
    from search.base.settings import declared

    flagged = [f.name for f, _ in declared() if f.metadata["flag"]]
    for command in (["search"], ["index"], ["reindex"], ["serve"], ["builds", "list"]):
        out = CliRunner().invoke(main, [*command, "--help"]).output
        missing = [n for n in flagged if "--" + n.replace("_", "-") not in out]
        assert not missing, (command, missing)


def test_a_flag_wins_and_a_bad_flag_value_is_one_clear_line(tmp_path):
    from click.testing import CliRunner

    from papersearch import main

    result = CliRunner().invoke(
        main, ["db", "current", "--home", str(tmp_path), "--index-memory", "lots"]
    )
    assert result.exit_code == 1
    assert "PAPERSEARCH_INDEX_MEMORY must be a size" in result.output
    assert "Traceback" not in result.output


def test_the_secret_key_is_never_printed():
    assert "hunter2" not in repr(Settings.from_env({"PAPERSEARCH_SECRET_KEY": "hunter2"}))
