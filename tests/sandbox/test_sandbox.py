"""The sandbox ECDP API, tested over real loopback HTTP: auth, validation rules, modes, reads, stats."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.sandbox import SandboxServer
from importer.sandbox.stats import RequestStats
from importer.sandbox.store import Store

INT32_MAX = 2_147_483_647
INT32_MIN = -2_147_483_648
PROBLEM_JSON = "application/problem+json"
MISSING = object()


# -- valid documents and helpers ------------------------------------------------------------------


def a_customer(**fields: Any) -> dict[str, Any]:
    """A customer with every documented field set to a valid value."""
    return {
        "email": "ada@example.com",
        "phone": "+48600123456",
        "crmId": "crm-1",
        "visitorId": "v-1",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "dateOfBirth": "1815-12-10T00:00:00.000Z",
        "gender": "Female",
        "customAttributes": [{"name": "loyaltyTier", "value": "gold"}],
        "consentsData": {"consents": [{"id": 1, "value": "True"}], "force": False, "confirmationMessageId": 7},
        **fields,
    }


def an_order(**fields: Any) -> dict[str, Any]:
    """The vendor docs' example order (English page), which must be accepted as it is."""
    return {
        "id": "12345",
        "date": "2024-11-06T10:10:00.055Z",
        "timeZone": "Pacific Standard Time",
        "websiteId": 1,
        "status": "Completed",
        "currency": "USD",
        "totalValue": 150.00,
        "returnsValue": 0,
        "customer": {"email": "customer@example.com", "phone": "+15551234567", "crmId": "67890"},
        "products": [
            {
                "id": "p001",
                "name": "Wireless Earbuds",
                "price": 75.00,
                "quantity": 2,
                "returned": 0,
                "url": "https://example.com/products/wireless-earbuds",
                "imageUrl": "https://example.com/images/wireless-earbuds.jpg",
                "category": "Electronics",
                "productAttributes": [{"name": "Color", "value": "Black"}, {"name": "Warranty", "value": "1 Year"}],
            }
        ],
        "orderAttributes": [{"name": "Shipping Method", "value": "Express"}, {"name": "Gift Wrap", "value": "Yes"}],
        **fields,
    }


def customers_body(*customers: dict[str, Any], mode: str = "Add", match_by: str = "Email") -> dict[str, Any]:
    return {"mode": mode, "matchBy": match_by, "data": list(customers)}


def orders_body(*orders: dict[str, Any], mode: str = "Add") -> dict[str, Any]:
    return {"mode": mode, "data": list(orders)}


def with_value(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `document` with `path` (e.g. "products[0].name") set to `value`, or removed if MISSING."""
    changed = copy.deepcopy(document)
    *parents, last = [int(key) if key.isdigit() else key for key in re.findall(r"[^.\[\]]+", path)]
    target: Any = changed
    for key in parents:
        target = target[key]
    if value is MISSING:
        del target[last]
    else:
        target[last] = value
    return changed


def errors_of(response: httpx.Response) -> list[str]:
    """The errors of a 400 problem response (list style)."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == 400
    assert problem["title"] == "One or more validation errors occurred."
    assert problem["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.1"
    errors: list[str] = problem["errors"]
    return errors


@pytest.fixture(scope="session")
def session_client(sandbox_server: SandboxServer) -> Iterator[httpx.Client]:
    """One client for the whole session: creating an httpx.Client costs ~25 ms (its SSL context)."""
    with httpx.Client(base_url=sandbox_server.url) as client:
        yield client


@pytest.fixture
def api(sandbox: SandboxServer, session_client: httpx.Client) -> httpx.Client:
    """A client of the emptied session sandbox that sends the right API key."""
    session_client.headers["x-api-key"] = sandbox.api_key
    return session_client


@pytest.fixture
def anonymous(sandbox: SandboxServer, session_client: httpx.Client) -> httpx.Client:
    """A client of the emptied session sandbox that sends no API key."""
    session_client.headers.pop("x-api-key", None)
    return session_client


# -- authentication and error responses -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/customers"), ("GET", "/customers/id/1"), ("GET", "/orders/1"), ("GET", "/no/such/route")],
    ids=["post-customers", "get-customer", "get-order", "unknown-route"],
)
@pytest.mark.parametrize("key", [None, "wrong-key"], ids=["no-key", "wrong-key"])
def test_requests_without_the_api_key_are_refused(
    sandbox: SandboxServer, anonymous: httpx.Client, method: str, path: str, key: str | None
) -> None:
    headers = {} if key is None else {"x-api-key": key}
    response = anonymous.request(method, path, headers=headers, json=customers_body(a_customer()))

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.2"
    assert (problem["title"], problem["status"], problem["instance"]) == ("Unauthorized", 401, path)
    assert "x-api-key" in problem["detail"]
    assert sandbox.api_key not in response.text
    assert sandbox.store.counts().customers == 0


def test_a_body_that_is_not_json_is_a_400(api: httpx.Client) -> None:
    response = api.post("/customers", content=b'{"mode": "Add",', headers={"content-type": "application/json"})
    [error] = errors_of(response)
    assert error.startswith("$: The request body is not valid JSON")


def test_an_empty_body_is_a_400(api: httpx.Client) -> None:
    response = api.post("/orders", content=b"", headers={"content-type": "application/json"})
    assert errors_of(response) == ["$: The request body is empty: send a JSON object."]


def test_a_body_that_is_not_an_object_is_a_400(api: httpx.Client) -> None:
    assert errors_of(api.post("/customers", json=[a_customer()])) == ["$: The request body must be a JSON object."]


def test_a_body_not_declared_as_json_is_a_415(api: httpx.Client) -> None:
    response = api.post("/customers", content=b"{}", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "Content-Type 'text/plain'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/no/such/route", 404), ("PATCH", "/orders", 405)],
    ids=["unknown-route", "wrong-method"],
)
def test_routing_errors_are_problem_json(api: httpx.Client, method: str, path: str, status: int) -> None:
    response = api.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["instance"] == path


def test_every_error_of_a_request_is_reported_with_its_path(api: httpx.Client) -> None:
    customer = a_customer(email="x" * 321, gender="female", customAttributes=[{"value": "v"}])
    body = {"mode": "Upsert", "matchBy": "Email", "data": [a_customer(), customer]}
    assert errors_of(api.post("/customers", json=body)) == [
        'mode: The field mode must be one of "Add", "Update", "AddOrUpdate".',
        "data[1].email: The field email must be at most 320 characters.",
        'data[1].gender: The field gender must be one of "Male", "Female", "NotSpecified".',
        "data[1].customAttributes[0].name: The field name is required.",
    ]


def test_errors_style_dict_groups_messages_by_path() -> None:
    with SandboxServer(errors_style="dict") as server:
        body = customers_body(a_customer(email="x" * 321), {"firstName": 1})
        response = httpx.post(f"{server.url}/customers", json=body, headers={"x-api-key": server.api_key})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "data[0].email": ["The field email must be at most 320 characters."],
        "data[1].email": ["The field email is required."],
        "data[1].firstName": ["The field firstName must be a string."],
    }


def test_errors_style_none_sends_no_errors_but_names_the_first_in_detail() -> None:
    with SandboxServer(errors_style="none") as server:
        body = customers_body(a_customer(email="x" * 321))
        response = httpx.post(f"{server.url}/customers", json=body, headers={"x-api-key": server.api_key})
    assert response.status_code == 400
    problem = response.json()
    assert "errors" not in problem
    assert "data[0].email: The field email must be at most 320 characters." in problem["detail"]


# -- limits of every documented field, at N and N+1 -----------------------------------------------


def _field(path: str) -> str:
    return re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])


def at_most(kind: str, path: str, limit: int, text: Callable[[int], str] = lambda n: "x" * n) -> list[Any]:
    error = f"data[0].{path}: The field {_field(path)} must be at most {limit} characters."
    return [
        pytest.param(kind, path, text(limit), None, id=f"{kind}.{path}={limit}"),
        pytest.param(kind, path, text(limit + 1), error, id=f"{kind}.{path}={limit + 1}"),
    ]


def between(kind: str, path: str, low: int, high: int) -> list[Any]:
    error = f"data[0].{path}: The field {_field(path)} must be between {low} and {high}."
    return [
        pytest.param(kind, path, low - 1, error, id=f"{kind}.{path}={low - 1}"),
        pytest.param(kind, path, low, None, id=f"{kind}.{path}={low}"),
        pytest.param(kind, path, high, None, id=f"{kind}.{path}={high}"),
        pytest.param(kind, path, high + 1, error, id=f"{kind}.{path}={high + 1}"),
    ]


def at_least_one_character(kind: str, path: str) -> list[Any]:
    error = f"data[0].{path}: The field {_field(path)} is required."
    return [
        pytest.param(kind, path, "", error, id=f"{kind}.{path}=empty"),
        pytest.param(kind, path, "x", None, id=f"{kind}.{path}=1"),
    ]


def email(length: int) -> str:
    return "a" * (length - len("@example.com")) + "@example.com"


def digits(length: int) -> str:
    return "1" * length


LIMITS = [
    *at_most("customer", "email", 320, email),
    *at_most("customer", "phone", 20, digits),
    *at_most("customer", "crmId", 128),
    *at_most("customer", "visitorId", 38),
    *at_most("customer", "firstName", 256),
    *at_most("customer", "lastName", 256),
    *at_most("customer", "customAttributes[0].name", 256),
    *at_least_one_character("customer", "customAttributes[0].name"),
    *between("customer", "consentsData.consents[0].id", INT32_MIN, INT32_MAX),
    *between("customer", "consentsData.confirmationMessageId", INT32_MIN, INT32_MAX),
    *at_most("order", "id", 128),
    *at_least_one_character("order", "id"),
    pytest.param("order", "timeZone", "Central European Standard Time", None, id="order.timeZone=windows"),
    pytest.param("order", "timeZone", "Europe/Warsaw", None, id="order.timeZone=iana"),
    pytest.param(
        "order",
        "timeZone",
        "Warsaw",
        "data[0].timeZone: The field timeZone must be a time zone name, "
        "Windows (e.g. Central European Standard Time) or IANA (e.g. Europe/Warsaw): 'Warsaw' is neither.",
        id="order.timeZone=unknown",
    ),
    pytest.param(
        "order",
        "timeZone",
        "europe/warsaw",
        "data[0].timeZone: The field timeZone must be a time zone "
        "name, Windows (e.g. Central European Standard Time) or IANA (e.g. Europe/Warsaw): "
        "'europe/warsaw' is neither.",
        id="order.timeZone=misspelt",
    ),
    pytest.param(
        "order",
        "timeZone",
        "x" * 101,
        "data[0].timeZone: The field timeZone must be a time zone name of at most 100 characters.",
        id="order.timeZone=101",
    ),
    *at_most("order", "customer.email", 320, email),
    *at_most("order", "customer.phone", 20, digits),
    *at_most("order", "customer.crmId", 128),
    *between("order", "websiteId", INT32_MIN, INT32_MAX),
    *at_most("order", "orderAttributes[0].name", 256),
    *at_least_one_character("order", "orderAttributes[0].name"),
    *at_most("order", "products[0].id", 128),
    *at_least_one_character("order", "products[0].id"),
    *at_most("order", "products[0].name", 2048),
    *at_least_one_character("order", "products[0].name"),
    *between("order", "products[0].quantity", 1, INT32_MAX),
    *between("order", "products[0].returned", 0, INT32_MAX),
    *at_most("order", "products[0].url", 2048),
    *at_most("order", "products[0].imageUrl", 2048),
    *at_most("order", "products[0].category", 2048),
    *at_most("order", "products[0].productAttributes[0].name", 256),
    *at_least_one_character("order", "products[0].productAttributes[0].name"),
    pytest.param(
        "order",
        "currency",
        "EU",
        "data[0].currency: The field currency must be exactly 3 characters.",
        id="order.currency=2",
    ),
    pytest.param("order", "currency", "EUR", None, id="order.currency=3"),
    pytest.param(
        "order",
        "currency",
        "EURO",
        "data[0].currency: The field currency must be exactly 3 characters.",
        id="order.currency=4",
    ),
    pytest.param(
        "order",
        "products",
        [],
        "data[0].products: The field products must hold at least 1 item.",
        id="order.products=0-items",
    ),
]


def post_one(api: httpx.Client, kind: str, path: str, value: Any) -> httpx.Response:
    if kind == "customer":
        return api.post("/customers", json=customers_body(with_value(a_customer(), path, value)))
    return api.post("/orders", json=orders_body(with_value(an_order(), path, value)))


@pytest.mark.parametrize(("kind", "path", "value", "error"), LIMITS)
def test_documented_limits(api: httpx.Client, kind: str, path: str, value: Any, error: str | None) -> None:
    response = post_one(api, kind, path, value)
    if error is None:
        assert response.status_code == 201, response.text
    else:
        assert errors_of(response) == [error]


def test_lengths_count_utf16_code_units_as_dotnet_does(api: httpx.Client) -> None:
    response = post_one(api, "customer", "firstName", "x" * 255 + "\N{GRINNING FACE}")
    [error] = errors_of(response)
    assert error.startswith("data[0].firstName: The field firstName must be at most 256 characters (counted in UTF-16")


def test_empty_optional_strings_are_accepted(api: httpx.Client) -> None:
    customer = a_customer(phone="", crmId="", firstName="", customAttributes=[{"name": "loyaltyTier", "value": ""}])
    assert api.post("/customers", json=customers_body(customer)).status_code == 201


# -- enums, formats and JSON types ----------------------------------------------------------------

VALUES = [
    *(pytest.param("customer", "gender", gender, None, id=f"gender={gender}") for gender in ("Male", "NotSpecified")),
    pytest.param(
        "customer",
        "gender",
        "male",
        'data[0].gender: The field gender must be one of "Male", "Female", "NotSpecified".',
        id="gender=male",
    ),
    *(
        pytest.param("customer", "consentsData.consents[0].value", value, None, id=f"consent={value}")
        for value in ("False", "AwaitingConfirmation", "True")
    ),
    pytest.param(
        "customer",
        "consentsData.consents[0].value",
        False,
        "data[0].consentsData.consents[0].value: The "
        'field value must be one of "False", "AwaitingConfirmation", "True".',
        id="consent=json-false",
    ),
    pytest.param(
        "customer",
        "consentsData.consents[0].id",
        MISSING,
        "data[0].consentsData.consents[0].id: The field id is required.",
        id="consent-id-missing",
    ),
    pytest.param(
        "customer",
        "consentsData.force",
        "yes",
        "data[0].consentsData.force: The field force must be true or false.",
        id="force=string",
    ),
    *(
        pytest.param(
            "customer",
            "email",
            value,
            "data[0].email: The field email must be an e-mail address: exactly "
            "one @, with text on both sides and no whitespace.",
            id=f"email={value}",
        )
        for value in ("ada.example.com", "ada@@example.com", "ada @example.com", "@example.com", "ada@")
    ),
    *(
        pytest.param(
            "customer",
            "phone",
            value,
            "data[0].phone: The field phone must hold only digits, optionally after a leading +, with no spaces.",
            id=f"phone={value}",
        )
        for value in ("+48 600 123 456", "600-123-456", "48+600")
    ),
    pytest.param("customer", "dateOfBirth", "2023-07-25T12:35:54.7123456+02:00", None, id="date=7-digit-fraction"),
    pytest.param(
        "customer",
        "dateOfBirth",
        "2023-02-30T00:00:00Z",
        "data[0].dateOfBirth: The field dateOfBirth must "
        "be a date and time that exists: '2023-02-30T00:00:00Z' does not.",
        id="date=feb-30",
    ),
    *(
        pytest.param(
            "customer",
            "dateOfBirth",
            value,
            "data[0].dateOfBirth: The field dateOfBirth must be an ISO "
            "8601 date and time such as 2023-07-25T12:35:54.712Z.",
            id=f"date={value}",
        )
        for value in ("2023-07-25", "25/07/2023 12:00", "yesterday", 20230725)
    ),
    pytest.param(
        "customer", "firstName", 42, "data[0].firstName: The field firstName must be a string.", id="firstName=number"
    ),
    pytest.param(
        "customer",
        "customAttributes[0].value",
        5,
        "data[0].customAttributes[0].value: The field value must be a string.",
        id="attribute-value=number",
    ),
    pytest.param("customer", "customAttributes[0].value", None, None, id="attribute-value=null"),
    pytest.param(
        "customer",
        "customAttributes",
        {"name": "x"},
        "data[0].customAttributes: The field customAttributes must be an array.",
        id="attributes=object",
    ),
    pytest.param(
        "customer",
        "shoeSize",
        42,
        "data[0].shoeSize: shoeSize is an unknown field: the API documents no field of this name here.",
        id="customer-unknown-field",
    ),
    pytest.param("order", "status", "PAID", None, id="status=PAID"),
    pytest.param(
        "order",
        "status",
        "shipped",
        'data[0].status: The field status must be one of "placed", "paid", '
        '"completed", "canceled" (in any letter case).',
        id="status=shipped",
    ),
    pytest.param(
        "order",
        "totalValue",
        "150.00",
        "data[0].totalValue: The field totalValue must be a number.",
        id="totalValue=string",
    ),
    pytest.param(
        "order", "totalValue", True, "data[0].totalValue: The field totalValue must be a number.", id="totalValue=bool"
    ),
    pytest.param(
        "order", "totalValue", MISSING, "data[0].totalValue: The field totalValue is required.", id="totalValue-missing"
    ),
    pytest.param("order", "returnsValue", 12.5, None, id="returnsValue=float"),
    pytest.param(
        "order", "products[0].price", None, "data[0].products[0].price: The field price is required.", id="price=null"
    ),
    pytest.param(
        "order",
        "products[0].quantity",
        2.0,
        "data[0].products[0].quantity: The field quantity must be an integer.",
        id="quantity=2.0",
    ),
    pytest.param(
        "order",
        "products[0].quantity",
        True,
        "data[0].products[0].quantity: The field quantity must be an integer.",
        id="quantity=bool",
    ),
    pytest.param("order", "date", MISSING, "data[0].date: The field date is required.", id="date-missing"),
    pytest.param(
        "order",
        "customer",
        "ada@example.com",
        "data[0].customer: The field customer must be an object.",
        id="customer=string",
    ),
    pytest.param(
        "order",
        "customer.email",
        MISSING,
        "data[0].customer.email: The field email is required.",
        id="customer-email-missing",
    ),
    pytest.param(
        "order",
        "products[0].colour",
        "red",
        "data[0].products[0].colour: colour is an unknown field: the API documents no field of this name here.",
        id="product-unknown-field",
    ),
    pytest.param(
        "order",
        "orderAttributes[0].type",
        "String",
        "data[0].orderAttributes[0].type: type is an unknown field: the API documents no field of this name here.",
        id="attribute-unknown-field",
    ),
]


@pytest.mark.parametrize(("kind", "path", "value", "error"), VALUES)
def test_enums_formats_and_types(api: httpx.Client, kind: str, path: str, value: Any, error: str | None) -> None:
    response = post_one(api, kind, path, value)
    if error is None:
        assert response.status_code == 201, response.text
    else:
        assert errors_of(response) == [error]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"matchBy": "Email", "data": [{"email": "a@b.c"}]}, "mode: The field mode is required."),
        (
            {"mode": "Add", "matchBy": "email", "data": [{"email": "a@b.c"}]},
            'matchBy: The field matchBy must be one of "Email", "PhoneNumber", "CrmId", "VisitorId", "GUID".',
        ),
        (
            {"mode": "Add", "matchBy": "GUID", "data": [{"email": "a@b.c"}]},
            "matchBy: GUID matching is not supported by the sandbox: the API documents no customer field for it.",
        ),
        ({"mode": "Add", "matchBy": "Email", "data": []}, "data: The field data must hold at least 1 item."),
        ({"mode": "Add", "matchBy": "Email", "data": {"email": "a@b.c"}}, "data: The field data must be an array."),
        ({"mode": "Add", "matchBy": "Email", "data": ["a@b.c"]}, "data[0]: The field data[0] must be an object."),
        (
            {"mode": "Add", "matchBy": "Email", "data": [{"email": "a@b.c"}], "dryRun": True},
            "dryRun: dryRun is an unknown field: the API documents no field of this name here.",
        ),
    ],
    ids=["mode-missing", "matchBy-case", "matchBy-GUID", "data-empty", "data-object", "item-string", "unknown-top"],
)
def test_request_level_errors(api: httpx.Client, body: dict[str, Any], error: str) -> None:
    assert errors_of(api.post("/customers", json=body)) == [error]


@pytest.mark.parametrize(
    ("match_by", "field", "value"),
    [("PhoneNumber", "phone", "+48600123456"), ("CrmId", "crmId", "crm-1"), ("VisitorId", "visitorId", "v-1")],
)
def test_match_by_requires_its_field_and_matches_on_it(
    api: httpx.Client, match_by: str, field: str, value: str
) -> None:
    without = {"firstName": "Ada"}
    assert errors_of(api.post("/customers", json=customers_body(without, match_by=match_by))) == [
        f"data[0].{field}: The field {field} is required."
    ]
    assert api.post("/customers", json=customers_body({field: value}, match_by=match_by)).status_code == 201
    again = api.post("/customers", json=customers_body({field: value}, match_by=match_by))
    assert errors_of(again) == [f"data[0].{field}: A customer with this {field} already exists."]


@pytest.mark.parametrize(("identification", "field"), [("PhoneNumber", "phone"), ("CrmId", "crmId")])
def test_orders_require_the_business_units_identification_field(identification: str, field: str) -> None:
    order = with_value(an_order(), f"customer.{field}", MISSING)
    with SandboxServer(identification=identification) as server:
        headers = {"x-api-key": server.api_key}
        rejected = httpx.post(f"{server.url}/orders", json=orders_body(order), headers=headers)
        without_email = with_value(an_order(), "customer.email", MISSING)
        accepted = httpx.post(f"{server.url}/orders", json=orders_body(without_email), headers=headers)
    assert errors_of(rejected) == [f"data[0].customer.{field}: The field {field} is required."]
    assert accepted.status_code == 201, accepted.text


# -- customers: modes and reads -------------------------------------------------------------------


def test_add_stores_a_customer_readable_by_every_key(api: httpx.Client) -> None:
    assert api.post("/customers", json=customers_body(a_customer())).json() == {"status": 0}

    expected = {"id": 1, **a_customer(consentsData={"consents": [{"id": 1, "value": "True"}]})}
    for path in (
        "/customers/id/1",
        "/customers/email/ADA@example.com",
        "/customers/phone/+48600123456",
        "/customers/crmId/crm-1",
    ):
        response = api.get(path)
        assert response.status_code == 200, path
        assert response.json() == {"status": 0, "data": expected}


@pytest.mark.parametrize(
    "path",
    [
        "/customers/id/2",
        "/customers/id/not-a-number",
        "/customers/email/bob@example.com",
        "/customers/phone/123",
        "/customers/crmId/nobody",
    ],
)
def test_reading_a_missing_customer_is_a_404(api: httpx.Client, path: str) -> None:
    api.post("/customers", json=customers_body(a_customer()))
    response = api.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["title"] == "Not Found"


def test_add_of_an_existing_customer_is_rejected_ignoring_email_case(api: httpx.Client) -> None:
    api.post("/customers", json=customers_body(a_customer()))
    response = api.post("/customers", json=customers_body({"email": "Ada@Example.COM"}))
    assert errors_of(response) == ["data[0].email: A customer with this email already exists."]


def test_an_earlier_item_counts_as_existing_for_a_later_one(api: httpx.Client, sandbox: SandboxServer) -> None:
    response = api.post("/customers", json=customers_body({"email": "a@b.c"}, {"email": "a@b.c"}))
    assert errors_of(response) == ["data[1].email: A customer with this email already exists."]
    assert sandbox.store.counts().customers == 0


def test_a_rejected_request_stores_none_of_its_valid_items(api: httpx.Client, sandbox: SandboxServer) -> None:
    api.post("/customers", json=customers_body({"email": "old@example.com"}))
    body = customers_body({"email": "new@example.com"}, {"email": "old@example.com"}, {"email": "new2@example.com"})
    assert errors_of(api.post("/customers", json=body)) == ["data[1].email: A customer with this email already exists."]
    assert api.get("/customers/email/new@example.com").status_code == 404
    assert sandbox.store.counts().customers == 1


def test_update_of_a_missing_customer_is_rejected(api: httpx.Client) -> None:
    response = api.post("/customers", json=customers_body({"email": "a@b.c"}, mode="Update"))
    assert errors_of(response) == ["data[0].email: No customer with this email exists."]


def test_update_merges_fields_attributes_by_name_and_consents_by_id(api: httpx.Client) -> None:
    api.post("/customers", json=customers_body(a_customer()))
    update = {
        "email": "ada@example.com",
        "lastName": "King",
        "customAttributes": [{"name": "loyaltyTier", "value": "platinum"}, {"name": "favouriteCategory", "value": "x"}],
        "consentsData": {"consents": [{"id": 2, "value": "False"}], "force": True},
    }
    assert api.post("/customers", json=customers_body(update, mode="Update")).status_code == 201

    stored = api.get("/customers/id/1").json()["data"]
    assert (stored["firstName"], stored["lastName"]) == ("Ada", "King")
    assert stored["customAttributes"] == update["customAttributes"]
    assert stored["consentsData"] == {"consents": [{"id": 1, "value": "True"}, {"id": 2, "value": "False"}]}


def test_add_or_update_adds_then_updates(api: httpx.Client, sandbox: SandboxServer) -> None:
    body = customers_body({"email": "a@b.c", "firstName": "A"}, {"email": "a@b.c", "lastName": "B"}, mode="AddOrUpdate")
    assert api.post("/customers", json=body).status_code == 201
    assert api.get("/customers/email/a@b.c").json()["data"] == {
        "id": 1,
        "email": "a@b.c",
        "firstName": "A",
        "lastName": "B",
    }
    assert sandbox.store.counts().customers == 1


# -- orders: modes, reads, delete, status ---------------------------------------------------------


def test_add_stores_the_order_as_sent_with_a_lower_case_status(api: httpx.Client) -> None:
    assert api.post("/orders", json=orders_body(an_order())).status_code == 201
    assert api.get("/orders/12345").json() == {"status": 0, "data": an_order(status="completed")}


def test_order_ids_with_slashes_are_found(api: httpx.Client) -> None:
    api.post("/orders", json=orders_body(an_order(id="2024/0001")))
    assert api.get("/orders/2024%2F0001").json()["data"]["id"] == "2024/0001"


def test_add_of_an_existing_order_is_rejected(api: httpx.Client) -> None:
    api.post("/orders", json=orders_body(an_order()))
    response = api.post("/orders", json=orders_body(an_order(id="new"), an_order()))
    assert errors_of(response) == ["data[1].id: An order with this id already exists."]
    assert api.get("/orders/new").status_code == 404


def test_replace_of_a_missing_order_is_rejected(api: httpx.Client) -> None:
    response = api.post("/orders", json=orders_body(an_order(), mode="Replace"))
    assert errors_of(response) == ["data[0].id: No order with this id exists."]


def test_add_or_replace_stores_the_new_document_whole(api: httpx.Client) -> None:
    api.post("/orders", json=orders_body(an_order(), mode="AddOrReplace"))
    replacement = with_value(an_order(totalValue=99.5), "orderAttributes", MISSING)
    assert api.post("/orders", json=orders_body(replacement, mode="AddOrReplace")).status_code == 201
    stored = api.get("/orders/12345").json()["data"]
    assert stored["totalValue"] == 99.5
    assert "orderAttributes" not in stored


def test_the_same_order_id_twice_in_a_request_is_an_error_on_the_later_one(api: httpx.Client) -> None:
    body = orders_body(an_order(), an_order(id="other"), an_order(), mode="AddOrReplace")
    assert errors_of(api.post("/orders", json=body)) == [
        "data[2].id: The order id '12345' is already used by data[0] in this request."
    ]


def test_delete_marks_the_order_deleted(api: httpx.Client, sandbox: SandboxServer) -> None:
    api.post("/orders", json=orders_body(an_order()))
    deleted = api.delete("/orders/12345")
    assert deleted.status_code == 200
    assert deleted.json() == {"status": 0, "data": an_order(status="completed")}
    assert api.get("/orders/12345").status_code == 404
    assert api.delete("/orders/12345").status_code == 404
    assert sandbox.store.counts().deleted_orders == 1


def test_a_deleted_order_can_be_added_or_replaced_again(api: httpx.Client) -> None:
    api.post("/orders", json=orders_body(an_order()))
    api.delete("/orders/12345")
    assert api.post("/orders", json=orders_body(an_order(), mode="Replace")).status_code == 201
    assert api.get("/orders/12345").status_code == 200
    api.delete("/orders/12345")
    assert api.post("/orders", json=orders_body(an_order())).status_code == 201


def test_deleting_a_missing_order_is_a_404(api: httpx.Client) -> None:
    response = api.delete("/orders/nope")
    assert response.status_code == 404
    assert response.json()["detail"] == "No order with id 'nope' exists."


def test_put_status_changes_the_stored_status(api: httpx.Client) -> None:
    api.post("/orders", json=orders_body(an_order()))
    response = api.put("/orders/status", json={"orderId": "12345", "orderStatus": "Canceled"})
    assert (response.status_code, response.json()) == (200, {"status": 0})
    assert api.get("/orders/12345").json()["data"]["status"] == "canceled"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"orderId": "nope", "orderStatus": "paid"}, "orderId: No order with this id exists."),
        (
            {"orderId": "12345", "orderStatus": "shipped"},
            'orderStatus: The field orderStatus must be one of "placed", "paid", "completed", "canceled" '
            "(in any letter case).",
        ),
        ({"orderId": "", "orderStatus": "paid"}, "orderId: The field orderId is required."),
        ({"orderStatus": "paid"}, "orderId: The field orderId is required."),
    ],
    ids=["unknown-order", "unknown-status", "empty-id", "missing-id"],
)
def test_put_status_rejects(api: httpx.Client, body: dict[str, Any], error: str) -> None:
    api.post("/orders", json=orders_body(an_order()))
    assert errors_of(api.put("/orders/status", json=body)) == [error]
    assert api.get("/orders/12345").json()["data"]["status"] == "completed"


# -- settings reads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/customerattributes", ["loyaltyTier", "favouriteCategory", "newsletterSource"]),
        ("/customerconsents", ["Email marketing", "SMS marketing", "Profiling"]),
        ("/orderattributes", ["channel", "couponCode"]),
        ("/productattributes", ["color", "size"]),
    ],
)
def test_settings_lists(api: httpx.Client, path: str, names: list[str]) -> None:
    response = api.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 0
    assert [entry["name"] for entry in body["data"]] == names
    assert all(set(entry) == {"id", "name", "type"} for entry in body["data"])


# -- persistence and statistics -------------------------------------------------------------------


def test_a_database_file_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    with SandboxServer(db=db, api_key="k") as first:
        httpx.post(f"{first.url}/customers", json=customers_body({"email": "a@b.c"}), headers={"x-api-key": "k"})
        httpx.post(f"{first.url}/orders", json=orders_body(an_order()), headers={"x-api-key": "k"})
    with SandboxServer(db=db, api_key="k") as second:
        client = httpx.Client(base_url=second.url, headers={"x-api-key": "k"})
        assert client.get("/customers/email/a@b.c").json()["data"] == {"id": 1, "email": "a@b.c"}
        assert client.get("/orders/12345").status_code == 200
        client.post("/customers", json=customers_body({"email": "d@e.f"}))
        assert client.get("/customers/email/d@e.f").json()["data"]["id"] == 2
        client.close()


def test_stats_count_requests_and_keep_post_bodies(api: httpx.Client, sandbox: SandboxServer) -> None:
    body = customers_body(a_customer())
    api.post("/customers", json=body)
    api.post("/customers", json=body)
    api.get("/customers/email/ada@example.com")
    api.get("/orders/missing")

    stats = sandbox.stats
    assert stats.total == 4
    assert stats.count("POST", "/customers", 201) == 1
    assert stats.count("POST", "/customers", 400) == 1
    assert stats.count("GET", "/customers/email/{email}", 200) == 1
    assert stats.count("GET", "/orders/{id}", 404) == 1
    assert stats.json_bodies("/customers") == [body, body]
    assert stats.json_bodies("/orders") == []


def test_stats_endpoint_needs_the_key_and_does_not_count_itself(api: httpx.Client, sandbox: SandboxServer) -> None:
    api.post("/orders", json=orders_body(an_order()))
    assert api.get("/_sandbox/stats", headers={"x-api-key": "wrong"}).status_code == 401

    report = api.get("/_sandbox/stats", params={"bodies": 1}).json()
    assert report["total"] == 1
    assert report["requests"] == [{"method": "POST", "route": "/orders", "status": 201, "count": 1}]
    assert report["store"] == {"customers": 0, "orders": 1, "deletedOrders": 0, "customEvents": 0}
    assert [entry["route"] for entry in report["bodies"]] == ["/orders"]


def test_stats_keep_a_bounded_number_of_bodies() -> None:
    stats = RequestStats(max_bodies=2, max_body_bytes=10)
    for body in (b"1", b"22", b"333"):
        stats.record("POST", "/orders", 201, body)
    assert [kept.body for kept in stats.recent_bodies()] == [b"22", b"333"]
    stats.record("POST", "/orders", 201, b"x" * 9)
    assert [kept.body for kept in stats.recent_bodies()] == [b"x" * 9]
    assert stats.total == 4


# -- invariants -----------------------------------------------------------------------------------

emails = st.sampled_from(["a@x.io", "A@x.io", "b@x.io", "c@x.io"])


@settings(max_examples=60, deadline=None)
@given(
    requests=st.lists(
        st.tuples(st.sampled_from(["Add", "Update", "AddOrUpdate"]), st.lists(emails, min_size=1, max_size=3)),
        max_size=6,
    )
)
def test_store_holds_exactly_the_customers_of_accepted_requests(requests: list[tuple[str, list[str]]]) -> None:
    store = Store()
    expected: set[str] = set()
    for mode, addresses in requests:
        errors = store.save_customers(mode, "email", [{"email": address} for address in addresses])
        if not errors:
            expected |= {address.lower() for address in addresses}
    assert store.counts().customers == len(expected)
    assert all(store.customer_by("email", address) is not None for address in expected)
    store.close()
