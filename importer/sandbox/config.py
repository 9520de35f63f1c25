"""Settings of one sandbox business unit: API key, identification field, error style, settings lists.

A `SandboxConfig` is what the vendor's "Settings" pages hold for a business unit, reduced to what the
sandbox needs: the API key every request must carry, the default identification field that POST
/orders requires on `customer`, how 400 responses spell their `errors` member, and the lists that
GET /customerattributes, /customerconsents, /orderattributes and /productattributes serve, and the custom
events POST /scenariocustomevents may trigger.

It also holds the `Faults` to inject (none by default; see `faults`).

This module holds data only: no HTTP, no storage, no validation of request bodies.
"""

from __future__ import annotations

from dataclasses import dataclass

from importer.sandbox.faults import Faults

IDENTIFICATIONS: tuple[str, ...] = ("Email", "PhoneNumber", "CrmId")
ERRORS_STYLES: tuple[str, ...] = ("list", "dict", "none")


@dataclass(frozen=True)
class Setting:
    """One entry of a settings list: an attribute or a consent as the platform defines it."""

    id: int
    name: str
    type: str
    options: tuple[str, ...] | None = None  # a SingleSelect's values (served only when declared)

    def as_json(self) -> dict[str, object]:
        listed: dict[str, object] = {"options": list(self.options)} if self.options else {}
        return {"id": self.id, "name": self.name, "type": self.type, **listed}


DEMO_CUSTOMER_ATTRIBUTES: tuple[Setting, ...] = (
    Setting(1, "loyaltyTier", "SingleSelect"),
    Setting(2, "favouriteCategory", "String"),
    Setting(3, "newsletterSource", "String"),
)
DEMO_CONSENTS: tuple[Setting, ...] = (
    Setting(1, "Email marketing", "Email"),
    Setting(2, "SMS marketing", "Sms"),
    Setting(3, "Profiling", "General"),
)
DEMO_ORDER_ATTRIBUTES: tuple[Setting, ...] = (
    Setting(1, "channel", "String"),
    Setting(2, "couponCode", "String"),
)
DEMO_PRODUCT_ATTRIBUTES: tuple[Setting, ...] = (
    Setting(1, "color", "String"),
    Setting(2, "size", "String"),
)


@dataclass(frozen=True)
class CustomEvent:
    """A custom event the business unit defines (Automation > Scenarios > Custom events)."""

    id: int
    name: str


DEMO_CUSTOM_EVENTS: tuple[CustomEvent, ...] = (
    CustomEvent(1, "loyalty_purchase"),
    CustomEvent(2, "subscription_renewal"),
    CustomEvent(3, "store_return"),
)


Settings = tuple[Setting, ...] | None  # None: the list is not exposed (its GET answers 404)
Declared = Settings | tuple[CustomEvent, ...]  # a SandboxConfig list a settings file declares


@dataclass(frozen=True)
class SandboxConfig:
    """How one sandbox business unit behaves.

    `identification` is the business unit's default identification field (Settings > Customers):
    POST /orders requires the matching field of `customer` (Email → email, PhoneNumber → phone,
    CrmId → crmId). `errors_style` chooses the shape of `errors` in 400 responses: "list" of
    "path: message" strings (as the vendor docs show), "dict" mapping each path to its messages (as
    ASP.NET services send), or "none" (no `errors` member at all). The settings lists are served as
    they are; with `enforce_settings` (set by `--settings FILE.json`, see `definitions`) request bodies
    are also checked against them, as the platform does; without it any attribute name, consent id and
    value is accepted. `custom_events` are always enforced: POST /scenariocustomevents with any other
    `customEventId` is a 400, as the platform answers it (no GET lists them). A list that is None is
    not exposed: its GET answers 404 (some platforms do not serve /orderattributes or
    /productattributes) and nothing is checked against it. `faults` are the
    failures to inject into API requests (see `faults.Faults`); the default injects none.
    """

    api_key: str
    identification: str = "Email"
    errors_style: str = "list"
    customer_attributes: Settings = DEMO_CUSTOMER_ATTRIBUTES
    consents: Settings = DEMO_CONSENTS
    order_attributes: Settings = DEMO_ORDER_ATTRIBUTES
    product_attributes: Settings = DEMO_PRODUCT_ATTRIBUTES
    custom_events: tuple[CustomEvent, ...] = DEMO_CUSTOM_EVENTS
    enforce_settings: bool = False
    faults: Faults = Faults()

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("The sandbox needs a non-empty API key.")
        if self.identification not in IDENTIFICATIONS:
            raise ValueError(
                f"Unknown identification {self.identification!r}: use one of {', '.join(IDENTIFICATIONS)}."
            )
        if self.errors_style not in ERRORS_STYLES:
            raise ValueError(f"Unknown errors_style {self.errors_style!r}: use one of {', '.join(ERRORS_STYLES)}.")
