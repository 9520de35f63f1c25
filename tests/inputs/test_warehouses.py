"""Snowflake and BigQuery as SQL sources (``importer.inputs.warehouses``): what can be checked without an account.

There is no Snowflake account or Google project here, and their ADBC drivers (Go binaries of 70 and 40 MB
installed) are not test dependencies: these tests check the URLs, what the driver would be given, the
password kept out of sight, and the missing extra. The last two run only where a driver is installed (they
need no account: a name that does not resolve, credentials that are not there).
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from importer.errors import UsageError
from importer.inputs import warehouses
from importer.inputs.databases import SqlQuery
from tests.support import run_cli

SNOWFLAKE = "snowflake://reader@myorg-example/SHOP/PUBLIC?warehouse=LOADING&role=READER"


def test_a_snowflake_url_is_shown_without_its_password_which_goes_to_the_driver_as_an_option(monkeypatch):
    monkeypatch.setenv("ECDP_DB_PASSWORD", "p@ss/word")
    query = SqlQuery(SNOWFLAKE, "SELECT 1")
    assert query.shown == "snowflake://reader@myorg-example/SHOP/PUBLIC"
    assert "p@ss" not in repr(query) and "p@ss" not in query.identity
    assert warehouses.options(query.url, query.secret()) == {
        "username": "reader",
        "password": "p@ss/word",  # as it is: an option, not URL text to escape
        "adbc.snowflake.sql.account": "myorg-example",
        "adbc.snowflake.sql.db": "SHOP",
        "adbc.snowflake.sql.schema": "PUBLIC",
        "adbc.snowflake.sql.warehouse": "LOADING",
        "adbc.snowflake.sql.role": "READER",
        "adbc.snowflake.sql.client_option.login_timeout": "15s",
    }
    assert query.scrub("login failed for p@ss/word") == "login failed for ***"
    inline = SqlQuery("snowflake://reader:in%40url@myorg-example/SHOP", "SELECT 1", password="ignored")
    assert inline.shown == "snowflake://reader@myorg-example/SHOP" and inline.secret() == "in@url"
    given = warehouses.options(inline.url, inline.secret())
    assert given["password"] == "in@url" and "adbc.snowflake.sql.schema" not in given
    assert "in%40url" not in repr(inline) and "in@url" not in inline.scrub(f"{inline.url} in@url")


def test_a_bigquery_url_names_the_project_and_dataset_and_holds_no_credentials():
    query = SqlQuery("bigquery://shop-analytics-123/crm", "SELECT email FROM crm.customers")
    assert query.shown == "bigquery://shop-analytics-123/crm"
    assert warehouses.options(query.url, query.secret()) == {
        "adbc.bigquery.sql.project_id": "shop-analytics-123",
        "adbc.bigquery.sql.dataset_id": "crm",
    }
    assert warehouses.options("bigquery://shop-analytics-123", None) == {
        "adbc.bigquery.sql.project_id": "shop-analytics-123"
    }
    with pytest.raises(UsageError, match="BigQuery takes Google's credentials") as refused:
        SqlQuery("bigquery://me:hunter22@shop-analytics-123/crm", "SELECT 1")
    assert "hunter22" not in str(refused.value) + str(refused.value.hint)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("snowflake://myorg-example/SHOP/PUBLIC", "is not one the importer reads"),  # no user
        ("snowflake://reader@myorg-example:443/SHOP", "is not one the importer reads"),  # a port
        ("snowflake://reader@myorg-example/SHOP/PUBLIC/EXTRA", "is not one the importer reads"),
        ("snowflake://reader@myorg-example/SHOP?warehouse=W&authenticator=x", "does not pass on: authenticator"),
        ("bigquery:///crm", "is not one the importer reads"),  # no project
        ("bigquery://shop-analytics-123/crm/customers", "is not one the importer reads"),
    ],
)
def test_a_warehouse_url_the_driver_could_not_use_is_a_usage_error(url, said):
    with pytest.raises(UsageError, match=said) as refused:
        SqlQuery(url, "SELECT 1")
    assert refused.value.hint and ("://" in refused.value.hint or "role=" in refused.value.hint)


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        (SNOWFLAKE, "adbc_driver_snowflake.dbapi", "snowflake"),
        ("bigquery://p/d", "adbc_driver_bigquery.dbapi", "bigquery"),
    ],
)
def test_a_missing_warehouse_driver_names_its_extra(tmp_path, monkeypatch, url, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # as where the extra is not installed
    monkeypatch.setenv("ECDP_DB_PASSWORD", "hunter22")
    run = run_cli(["customers", "--db", url, "--sql", "SELECT 1", "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2, run.stderr
    assert f"pip install 'ecdp-importer[{extra}]'" in run.stderr and "Traceback" not in run.stderr
    assert "hunter22" not in run.stderr + run.stdout


@pytest.mark.skipif(importlib.util.find_spec("adbc_driver_snowflake") is None, reason="the [snowflake] extra")
def test_an_account_that_does_not_resolve_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ECDP_DB_PASSWORD", "hunter22")
    url = "snowflake://reader@no-such-account.invalid/SHOP/PUBLIC?warehouse=W"
    run = run_cli(["customers", "--db", url, "--sql", "SELECT 1", "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Error: Cannot connect to snowflake://reader@no-such-account.invalid/SHOP/PUBLIC: ")
    assert "Traceback" not in run.stderr and "hunter22" not in run.stderr + run.stdout


@pytest.mark.skipif(importlib.util.find_spec("adbc_driver_bigquery") is None, reason="the [bigquery] extra")
def test_no_google_credentials_is_one_clear_line(tmp_path):
    # (the driver, a Go library, sees the environment the process started with: where there are credentials,
    # a project "p" that is not one's own is the line instead)
    run = run_cli(["customers", "--db", "bigquery://p/d", "--sql", "SELECT 1", "--dry-run"], report_dir=tmp_path / "r")
    assert run.exit_code == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Error: ") and "bigquery://p/d" in lines[0] and len(lines) == 2, run.stderr
    assert lines[1].startswith("Hint: ") and "Traceback" not in run.stderr
