"""The sandbox's POST /scenariocustomevents over real loopback HTTP: one event per request, kept when valid,
a 400 with problem details otherwise; the known custom events come from the configuration."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from importer.sandbox import CustomEvent, Faults, SandboxServer
from importer.sandbox.definitions import SettingsFileError, load_settings, parse_settings
from tests.support import get

PROBLEM_JSON = "application/problem+json"
PATH = "/scenariocustomevents"
DEMO_EVENT = 1  # one of the demo custom events a sandbox without settings knows


def an_event(**fields: Any) -> dict[str, Any]:
    """A custom event with every documented field set to a valid value."""
    return {
        "customEventId": DEMO_EVENT,
        "customerId": "12",
        "customerEmail": "ada@example.com",
        "customerEmailMd5": "0" * 32,
        "customerEmailSha256": "f" * 64,
        "customerPhone": "+48600123456",
        "customerCrmId": "crm-1",
        "dataFields": [
            {"name": "store", "type": "String", "value": "Warsaw 3"},
            {"name": "amount", "type": "Money", "value": "19.99"},
            {"name": "at", "type": "DateTime", "value": "2026-01-02T10:00:00Z"},
            {"name": "page", "type": "URL", "value": "https://example.com/p/1"},
        ],
        **fields,
    }


def only(identifier: str, value: Any, **fields: Any) -> dict[str, Any]:
    """An event identifying its customer by `identifier` alone."""
    return {"customEventId": DEMO_EVENT, identifier: value, **fields}


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem details of a 400 (list-style errors), checked for the documented members."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.1"
    assert problem["title"] == "One or more validation errors occurred."
    assert (problem["status"], problem["substatus"], problem["instance"]) == (400, "CustomerInvalidModelState", PATH)
    assert problem["detail"].startswith("The request was not processed")
    return problem


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, headers={"x-api-key": sandbox.api_key}) as client:
        yield client


def test_a_valid_event_is_201_and_kept_as_sent(sandbox: SandboxServer, api: httpx.Client) -> None:
    event = an_event(customerPhone=None)
    response = api.post(PATH, json=event)

    assert response.status_code == 201, response.text
    assert response.json() == {"status": 0}
    kept = {name: value for name, value in event.items() if value is not None}
    assert sandbox.store.custom_events() == [kept]
    assert sandbox.store.counts().custom_events == 1


def test_each_event_is_kept_once_per_request_in_the_order_received(sandbox: SandboxServer, api: httpx.Client) -> None:
    for n in range(3):
        assert api.post(PATH, json=only("customerEmail", f"c{n}@example.com")).status_code == 201
    assert api.post(PATH, json=only("customerEmail", "c0@example.com")).status_code == 201  # not idempotent

    emails = [event["customerEmail"] for event in sandbox.store.custom_events()]
    assert emails == ["c0@example.com", "c1@example.com", "c2@example.com", "c0@example.com"]
    page = get(sandbox, "/_sandbox/customevents?after=1&limit=2").json()
    assert page["total"] == 4
    assert [event["customerEmail"] for event in page["data"]] == ["c1@example.com", "c2@example.com"]
    assert get(sandbox, "/_sandbox/stats").json()["store"]["customEvents"] == 4


def test_an_unknown_custom_event_id_is_a_400_naming_it(sandbox: SandboxServer, api: httpx.Client) -> None:
    problem = problem_of(api.post(PATH, json=an_event(customEventId=99)))

    assert problem["errors"] == [
        "customEventId: No custom event with id 99 is defined in this business unit "
        "(Automation > Scenarios > Custom events)."
    ]
    assert "customEventId: No custom event with id 99" in problem["detail"]
    assert sandbox.store.counts().custom_events == 0


@pytest.mark.parametrize("value", [None, "", MISSING := "missing"], ids=["null", "empty", "missing"])
def test_the_custom_event_id_is_required(api: httpx.Client, value: Any) -> None:
    event = an_event()
    if value == MISSING:
        del event["customEventId"]
    else:
        event["customEventId"] = value
    assert problem_of(api.post(PATH, json=event))["errors"] == ["customEventId: The field customEventId is required."]


@pytest.mark.parametrize("value", ["7", 7.0, True, 2**31], ids=["string", "float", "bool", "over-int32"])
def test_the_custom_event_id_is_an_int32(api: httpx.Client, value: Any) -> None:
    [error] = problem_of(api.post(PATH, json=an_event(customEventId=value)))["errors"]
    assert error.startswith("customEventId: The field customEventId must be")


def test_an_event_without_any_customer_identifier_is_a_400(sandbox: SandboxServer, api: httpx.Client) -> None:
    event = {
        "customEventId": DEMO_EVENT,
        "customerEmail": "",
        "customerPhone": None,
        "dataFields": [{"name": "store", "type": "String", "value": "x"}],
    }
    problem = problem_of(api.post(PATH, json=event))

    assert problem["errors"] == [
        "$: At least one customer identifier is required: customerId, customerEmail, customerEmailMd5, "
        "customerEmailSha256, customerPhone, customerCrmId."
    ]
    assert sandbox.store.counts().custom_events == 0


@pytest.mark.parametrize("identifier", ["customerId", "customerEmailMd5", "customerEmailSha256", "customerCrmId"])
def test_any_one_identifier_is_enough(sandbox: SandboxServer, api: httpx.Client, identifier: str) -> None:
    assert api.post(PATH, json=only(identifier, "ab12")).status_code == 201
    assert sandbox.store.custom_events() == [only(identifier, "ab12")]


def test_a_customer_id_may_be_a_number_as_the_docs_example_sends_it(api: httpx.Client) -> None:
    assert api.post(PATH, json=only("customerId", 0)).status_code == 201
    [error] = problem_of(api.post(PATH, json=only("customerId", 1.5)))["errors"]
    assert error == "customerId: The field customerId must be an integer."


def _of_length(identifier: str, length: int) -> str:
    if identifier == "customerEmail":
        return "a" * (length - len("@example.com")) + "@example.com"
    if identifier == "customerPhone":
        return "+" + "4" * (length - 1)
    return "a" * length


@pytest.mark.parametrize(
    ("identifier", "most"),
    [
        ("customerEmail", 320),
        ("customerEmailMd5", 32),
        ("customerEmailSha256", 64),
        ("customerPhone", 20),
        ("customerCrmId", 128),
    ],
)
def test_each_identifier_is_limited_in_length(
    sandbox: SandboxServer, api: httpx.Client, identifier: str, most: int
) -> None:
    at_most = _of_length(identifier, most)
    assert len(at_most) == most
    assert api.post(PATH, json=only(identifier, at_most)).status_code == 201

    over = _of_length(identifier, most + 1)
    assert problem_of(api.post(PATH, json=only(identifier, over)))["errors"] == [
        f"{identifier}: The field {identifier} must be at most {most} characters."
    ]
    assert [event[identifier] for event in sandbox.store.custom_events()] == [at_most]


@pytest.mark.parametrize("kind", ["String", "Text", "Number", "Money", "Date", "DateTime", "Boolean", "URL"])
def test_every_documented_data_field_type_is_accepted(api: httpx.Client, kind: str) -> None:
    field = {"name": "f", "type": kind, "value": "v"}
    assert api.post(PATH, json=only("customerCrmId", "c", dataFields=[field])).status_code == 201


@pytest.mark.parametrize("kind", ["Url", "string", "SingleSelect", ""], ids=["Url", "lower", "select", "empty"])
def test_a_data_field_of_an_unknown_type_is_a_400(sandbox: SandboxServer, api: httpx.Client, kind: str) -> None:
    fields = [{"name": "ok", "type": "Text", "value": "v"}, {"name": "bad", "type": kind, "value": "v"}]
    [error] = problem_of(api.post(PATH, json=only("customerCrmId", "c", dataFields=fields)))["errors"]

    assert error.startswith("dataFields[1].type: The field type ")
    assert sandbox.store.counts().custom_events == 0


def test_a_data_field_names_itself_and_holds_a_string(api: httpx.Client) -> None:
    fields = [
        {"type": "Number", "value": "1"},
        {"name": "n", "type": "Number", "value": 1},
        {"name": "x", "type": "String", "value": "v", "extra": 1},
    ]
    assert problem_of(api.post(PATH, json=only("customerCrmId", "c", dataFields=fields)))["errors"] == [
        "dataFields[0].name: The field name is required.",
        "dataFields[1].value: The field value must be a string.",
        "dataFields[2].extra: extra is an unknown field: the API documents no field of this name here.",
    ]


def test_a_batch_is_not_an_event(api: httpx.Client) -> None:
    errors = problem_of(api.post(PATH, json={"data": [an_event()]}))["errors"]
    assert "data: data is an unknown field: the API documents no field of this name here." in errors
    assert "customEventId: The field customEventId is required." in errors


@pytest.mark.parametrize("key", [None, "wrong-key"], ids=["no-key", "wrong-key"])
def test_an_event_without_the_api_key_is_a_401_and_not_kept(sandbox: SandboxServer, key: str | None) -> None:
    headers = {} if key is None else {"x-api-key": key}
    response = httpx.post(f"{sandbox.url}{PATH}", json=an_event(), headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["instance"] == PATH
    assert sandbox.api_key not in response.text
    assert sandbox.store.counts().custom_events == 0


# -- configuration: which custom events exist -----------------------------------------------------


def test_the_settings_file_declares_the_custom_events(platform: SandboxServer) -> None:
    """tests/data/platform/settings.json defines the events 7 and 8, so the demo event 1 is unknown there."""
    with httpx.Client(base_url=platform.url, headers={"x-api-key": platform.api_key}) as client:
        assert client.post(PATH, json=only("customerEmail", "a@example.com", customEventId=7)).status_code == 201
        problem = problem_of(client.post(PATH, json=only("customerEmail", "a@example.com", customEventId=1)))
    assert problem["errors"][0].startswith("customEventId: No custom event with id 1 is defined")
    assert [event["customEventId"] for event in platform.store.custom_events()] == [7]


def test_custom_events_given_to_the_server_replace_the_demo_ones_or_add_to_the_settings(tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps({"customEvents": [{"id": 7, "name": "loyalty_purchase"}]}))
    cases = [({}, {9}), ({"settings": load_settings(settings_file)}, {7, 9})]
    for declared, known in cases:
        with SandboxServer(custom_events=[CustomEvent(9, "renewal")], **declared) as server:
            accepted = {
                event_id
                for event_id in (1, 7, 9)
                if httpx.post(
                    f"{server.url}{PATH}",
                    json=only("customerCrmId", "c", customEventId=event_id),
                    headers={"x-api-key": server.api_key},
                ).status_code
                == 201
            }
        assert accepted == known, declared


@pytest.mark.parametrize(
    ("events", "problem"),
    [
        ([{"name": "x"}], "customEvents[0].id: required, a whole number (int32)"),
        ([{"id": 1, "name": ""}], "customEvents[0].name: must be a text of 1 to 256 characters"),
        ([{"id": 1, "name": "a"}, {"id": 1, "name": "b"}], "customEvents: the id 1 is used twice"),
        ([{"id": 1, "name": "a", "type": "x"}], "customEvents[0].type: unknown key"),
        (None, "customEvents: must be a list"),
    ],
    ids=["no-id", "empty-name", "id-twice", "unknown-key", "null"],
)
def test_a_settings_file_with_bad_custom_events_is_refused(events: Any, problem: str) -> None:
    with pytest.raises(SettingsFileError, match=re.escape(problem)):
        parse_settings({"customEvents": events})


def test_a_settings_file_without_custom_events_defines_none() -> None:
    assert parse_settings({})["custom_events"] == ()


# -- faults apply to the endpoint as to the others ------------------------------------------------


def test_faults_apply_to_custom_events_and_a_refused_one_is_not_kept() -> None:
    faults = Faults(throttle_rate=1.0, retry_after_s=3)
    with SandboxServer(faults=faults) as server:
        response = httpx.post(f"{server.url}{PATH}", json=an_event(), headers={"x-api-key": server.api_key})
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
        assert server.store.counts().custom_events == 0
        assert server.stats.count("POST", PATH, 429) == 1


def test_an_error_fault_answers_5xx_and_latency_delays_the_answer() -> None:
    with SandboxServer(faults=Faults(error_rate=1.0, latency_ms=150, seed=3)) as server:
        response = httpx.post(f"{server.url}{PATH}", json=an_event(), headers={"x-api-key": server.api_key})
        assert response.status_code in (500, 502, 503)
        assert response.elapsed.total_seconds() >= 0.15
        assert server.store.counts().custom_events == 0


def test_a_dropped_answer_still_keeps_the_event() -> None:
    """A drop: processed, then the connection closed: the client cannot know the event landed (so a resent
    one would be a second event)."""
    with SandboxServer(faults=Faults(drop_rate=1.0, seed=1)) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(f"{server.url}{PATH}", json=an_event(), headers={"x-api-key": server.api_key})
        assert server.store.counts().custom_events == 1
