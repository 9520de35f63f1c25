"""The config file: profiles, precedence (command line > env > profile > file defaults > built-in),
where the key comes from, and `config check` listing every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import ROOT, run_cli, write_csv

GOOD = [["a@example.com", "A"], ["b@example.com", "B"]]


def config(directory: Path, text: str) -> Path:
    path = directory / "ecdp-import.toml"
    path.write_text(text, encoding="utf-8")
    return path


def export(tmp_path: Path) -> str:
    return str(write_csv(tmp_path / "in.csv", ["email", "firstName"], GOOD))


LAYERED = """
[defaults]
api-url = "https://defaults.example"
chunk-size = 50
concurrency = 3

[defaults.customers]
chunk-size = 40

[profiles.shop-pl]
api-url = "https://profile.example"
chunk-size = 30

[profiles.shop-pl.customers]
chunk-size = 20
"""


@pytest.mark.parametrize(
    ("file", "args", "env", "url", "chunk"),
    [
        (None, [], {}, "https://api.ecdp.app", 100),
        ("[defaults]\napi-url = 'https://defaults.example'\n", [], {}, "https://defaults.example", 100),
        (LAYERED, [], {}, "https://defaults.example", 40),
        (LAYERED, ["--profile", "shop-pl"], {}, "https://profile.example", 20),
        (LAYERED, [], {"ECDP_PROFILE": "shop-pl"}, "https://profile.example", 20),
        (LAYERED, ["--profile", "shop-pl"], {"ECDP_API_URL": "https://env.example"}, "https://env.example", 20),
        (
            LAYERED,
            ["--profile", "shop-pl", "--api-url", "https://cli.example", "--chunk-size", "10"],
            {"ECDP_API_URL": "https://env.example"},
            "https://cli.example",
            10,
        ),
    ],
    ids=[
        "built-in",
        "file-defaults",
        "command-table-over-defaults",
        "profile",
        "profile-from-env",
        "env-over-profile",
        "command-line-over-all",
    ],
)
def test_precedence(tmp_path, monkeypatch, file, args, env, url, chunk):
    if file is not None:
        config(tmp_path, file)
    monkeypatch.chdir(tmp_path)
    run = run_cli(
        ["customers", export(tmp_path), "--dry-run", *args],
        env={"ECDP_API_URL": None, "ECDP_PROFILE": None, **env},
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 0, run.stderr
    summary = run.summary
    assert (summary["api_url"], summary["chunk_size"]) == (url, chunk)
    assert summary["options"]["concurrency"] == (3 if file == LAYERED else 4)  # file default, else built-in
    assert summary["options"]["timeout_s"] == 60.0  # set nowhere: built-in
    if "--profile" in args or env.get("ECDP_PROFILE"):
        assert summary["origin"]["profile"] == "shop-pl"


def key_profile(tmp_path: Path, sandbox, source: str) -> None:
    config(tmp_path, f'[profiles.shop-pl]\napi-url = "{sandbox.url}"\n{source}\n[defaults]\nmax-rejects = "0"\n')


def test_profile_names_the_variable_that_holds_the_key(sandbox, tmp_path, monkeypatch):
    key_profile(tmp_path, sandbox, 'api-key-env = "SHOP_PL_KEY"')
    monkeypatch.chdir(tmp_path)
    env = {"SHOP_PL_KEY": sandbox.api_key, "ECDP_API_KEY": None, "ECDP_API_URL": None}
    run = run_cli(["customers", export(tmp_path), "--profile", "shop-pl"], env=env, report_dir=tmp_path / "r")
    assert run.exit_code == 0, run.stderr
    assert run.summary["records_accepted"] == 2
    assert run.summary["origin"]["key"] == "environment variable SHOP_PL_KEY (config file)"
    for name in ("summary.json", "report.html"):
        assert sandbox.api_key not in (run.report_dir / name).read_text(encoding="utf-8")
    # ECDP_API_KEY (the environment) comes before the profile: a wrong one is refused by the API
    wrong = run_cli(
        ["customers", export(tmp_path), "--profile", "shop-pl"],
        env={**env, "ECDP_API_KEY": "wrong"},
        report_dir=tmp_path / "r2",
    )
    assert wrong.exit_code == 3 and wrong.summary["origin"]["key"] == "environment variable ECDP_API_KEY"
    # and the command line comes before both
    key_file = tmp_path / "cli.key"
    key_file.write_text(sandbox.api_key)
    key_file.chmod(0o600)
    cli = run_cli(
        ["customers", export(tmp_path), "--profile", "shop-pl", "--api-key-file", str(key_file)],
        env={**env, "ECDP_API_KEY": "wrong"},
        report_dir=tmp_path / "r3",
    )
    assert cli.exit_code == 0 and cli.summary["origin"]["key"] == f"file {key_file}"


def test_profile_key_file_is_relative_to_the_config_file(sandbox, tmp_path, monkeypatch):
    etc = tmp_path / "etc"
    (etc / "keys").mkdir(parents=True)
    (etc / "keys" / "shop.key").write_text(sandbox.api_key + "\n")
    (etc / "keys" / "shop.key").chmod(0o600)
    key_profile(etc, sandbox, 'api-key-file = "keys/shop.key"')
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run = run_cli(
        ["customers", export(tmp_path), "--config", str(etc / "ecdp-import.toml"), "--profile", "shop-pl"],
        env={"ECDP_API_KEY": None, "ECDP_API_URL": None},
        report_dir=tmp_path / "r",
    )
    assert run.exit_code == 0, run.stderr
    assert run.summary["origin"]["key"] == f"file {etc / 'keys' / 'shop.key'} (config file)"


def test_a_missing_profile_variable_is_one_sentence(sandbox, tmp_path, monkeypatch):
    key_profile(tmp_path, sandbox, 'api-key-env = "SHOP_PL_KEY"')
    monkeypatch.chdir(tmp_path)
    env = {"SHOP_PL_KEY": None, "ECDP_API_KEY": None}
    run = run_cli(["customers", export(tmp_path), "--profile", "shop-pl"], env=env, report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert run.stderr.startswith("Error: No API key: the environment variable SHOP_PL_KEY is not set or empty.")
    dry = run_cli(
        ["customers", export(tmp_path), "--profile", "shop-pl", "--dry-run"], env=env, report_dir=tmp_path / "r2"
    )
    assert dry.exit_code == 0, dry.stderr  # a dry run needs no key; the job's environment may set it
    assert sandbox.stats.total == 0


@pytest.mark.parametrize(
    "line",
    ['api-key = "{key}"', 'token = "{key}"', 'api-key-env = "{key}"', 'mode = "{key}"'],
    ids=["api-key", "token", "key-as-variable-name", "key-in-another-setting"],
)
def test_a_key_written_in_the_file_is_refused_by_every_run(sandbox, tmp_path, monkeypatch, line):
    key = "Zk3v9QpLm2Xr8TnB4wYc7Hd"  # looks like a key, as a real one does
    config(tmp_path, f'[profiles.other]\n{line.format(key=key)}\n[profiles.shop-pl]\napi-url = "{sandbox.url}"\n')
    monkeypatch.chdir(tmp_path)
    env = {"ECDP_API_KEY": sandbox.api_key}
    run = run_cli(["customers", export(tmp_path), "--profile", "shop-pl"], env=env, report_dir=tmp_path / "r")
    assert run.exit_code == 2
    assert "profiles.other." in run.stderr and "Traceback" not in run.stderr
    assert "the API key itself" in run.stderr or "in case it is the key itself" in run.stderr
    assert key not in run.stdout + run.stderr
    assert sandbox.stats.total == 0 and not (tmp_path / "r").exists()
    check = run_cli(["config", "check"], imports=False)
    assert check.exit_code == 2 and key not in check.stdout + check.stderr


BROKEN = """
top = 1
chunk-size = 5

[defaults]
chunk_sise = 10
concurrency = "four"
max-rejects = "lots"

[profiles.shop-pl]
api-url = "ftp://files.example"
api-key-file = "keys/missing.key"
mode = "AddOrUpdate"
match-by = "Emial"

[profiles.shop-de]
api-key-env = "SHOP_DE_KEY"
api-key-file = "/etc/ecdp/de.key"
dry-run = "yes"

[profiles.shop-de.order]
mode = "Add"
"""


def test_config_check_lists_every_problem_at_once(tmp_path, monkeypatch):
    config(tmp_path, BROKEN)
    monkeypatch.chdir(tmp_path)
    run = run_cli(["config", "check"], imports=False)
    assert run.exit_code == 2 and run.stdout == ""
    problems = [line[4:] for line in run.stderr.splitlines() if line.startswith("  - ")]
    assert run.stderr.startswith("Error: The config file ecdp-import.toml has 13 problems:")
    assert problems == [
        "top: unknown top-level table",
        "chunk-size: settings go in a table: put it under [defaults] or [profiles.NAME]",
        "defaults.chunk_sise: unknown setting (did you mean chunk-size?)",
        "defaults.concurrency: must be a whole number",
        "defaults.max-rejects: 'lots' is not a number of rows (e.g. 50) or a share of the rows read (e.g. 10%)",
        "profiles.shop-pl.api-url: The API URL 'ftp://files.example' is not an http(s) URL",
        "profiles.shop-pl.api-key-file: no such file: keys/missing.key",
        "profiles.shop-pl.mode: 'AddOrUpdate' is not one of 'Add', 'AddOrReplace', 'Replace' (for orders): set mode "
        "per command, under [profiles.shop-pl.customers] and [profiles.shop-pl.orders]",
        "profiles.shop-pl.match-by: 'Emial' is not one of 'Email', 'PhoneNumber', 'CrmId', 'VisitorId', 'GUID'",
        "profiles.shop-de: give one of api-key-env and api-key-file, not both",
        "profiles.shop-de.api-key-file: no such file: /etc/ecdp/de.key",
        "profiles.shop-de.dry-run: must be true or false",
        "profiles.shop-de.order: unknown setting (did you mean orders?)",
    ]
    assert "Hint:" in run.stderr


def test_config_check_with_an_unknown_profile_and_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    none = run_cli(["config", "check"], imports=False)
    assert none.exit_code == 2 and "There is no config file" in none.stderr
    config(tmp_path, '[profiles.shop-pl]\napi-key-env = "SHOP_PL_KEY"\n')
    unknown = run_cli(["config", "check", "--profile", "shop-de"], imports=False)
    assert unknown.exit_code == 2 and "there is no profile 'shop-de' (profiles in the file: shop-pl)" in unknown.stderr
    run = run_cli(["customers", export(tmp_path), "--profile", "shop-de", "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2 and "there is no profile 'shop-de'" in run.stderr


def test_profile_without_a_config_file_and_invalid_toml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = run_cli(["customers", export(tmp_path), "--profile", "shop-pl", "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2 and "--profile shop-pl: there is no config file" in run.stderr
    config(tmp_path, "[defaults]\nchunk-size = \n")
    bad = run_cli(["customers", export(tmp_path), "--dry-run"], report_dir=tmp_path / "r")
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: The config file ecdp-import.toml is not valid TOML")
    assert len(bad.stderr.splitlines()) == 2  # one sentence and a hint


def test_help_works_even_with_a_broken_config_file(tmp_path, monkeypatch):
    config(tmp_path, "nonsense = 1\n")
    monkeypatch.chdir(tmp_path)
    assert run_cli(["customers", "--help"], imports=False).exit_code == 0


def test_config_check_describes_a_good_file_without_any_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "de.key").write_text("secret-key-value\n")
    config(
        tmp_path,
        '[defaults]\nmax-rejects = "5%"\n[profiles.shop-pl]\napi-key-env = "SHOP_PL_KEY"\n'
        '[profiles.shop-pl.customers]\nmatch-by = "CrmId"\n[profiles.shop-de]\napi-key-file = "de.key"\n',
    )
    run = run_cli(["config", "check"], env={"SHOP_PL_KEY": "also-secret"}, imports=False)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines() == [
        "ecdp-import.toml: no problems.",
        "  defaults: max-rejects 5%",
        "  profile shop-pl: key from $SHOP_PL_KEY (set), [customers] match-by CrmId",
        "  profile shop-de: key from file de.key",
    ]
    assert "secret" not in run.stdout


def test_the_documented_example_config_is_valid(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    run = run_cli(["config", "check", "--config", str(ROOT / "docs" / "ecdp-import.toml")], imports=False)
    assert run.exit_code == 0, run.stderr
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert (ROOT / "docs" / "ecdp-import.toml").read_text(encoding="utf-8").strip() in page
