"""Fictional customers of the example retailer, made with Faker ``fr_FR``.

E-mail addresses are on ``.example`` domains and phone numbers are drawn from ranges that
parse as valid French numbers, so nothing here can reach a real person.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from faker import Faker

__all__ = ["CustomerFactory"]

_DOMAINS = ("exemple.example", "courriel.example", "boite.example", "maison.example")
_TIERS = ("essentiel", "privilege", "prestige")
_CATEGORIES = ("maison", "cuisine", "jardin", "textile", "luminaire", "decoration", "bain")
_PAGES = ("/", "/promotions", "/nouveautes", "/panier", "/compte", "/magasins")
_TOPICS = ("livraison", "retour", "facture", "produit abime", "fidelite", "paiement")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_text.lower() if c.isalnum())


class CustomerFactory:
    """Deterministic for a given seed, so a demo database can be rebuilt identically."""

    def __init__(self, *, seed: int = 2026, today: date | None = None) -> None:
        self.faker = Faker("fr_FR")
        self.faker.seed_instance(seed)
        self.random = random.Random(seed)  # noqa: S311 - fictional data, not security
        self.today = today or date.today()
        self._n = 0

    def phone(self) -> str:
        # French mobile ranges that the numbering plan allocates in full (06 0-2, 06 4-8,
        # 07 3-9), so every number drawn parses as valid.
        prefix = self.random.choice(
            ("60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77", "78")
        )
        rest = "".join(str(self.random.randint(0, 9)) for _ in range(9 - len(prefix)))
        return f"+33{prefix}{rest}"

    def _orders(self) -> list[dict[str, Any]]:
        orders = []
        for _ in range(self.random.randint(0, 14)):
            day = self.today - timedelta(days=self.random.randint(0, 730))
            lines = self.random.randint(1, 4)
            orders.append(
                {
                    "order_id": f"CMD-{self.random.randint(100000, 999999)}",
                    "date": day.isoformat(),
                    "items": lines,
                    "category": self.random.choice(_CATEGORIES),
                    "total_eur": round(self.random.uniform(9.9, 480.0), 2),
                }
            )
        return sorted(orders, key=lambda o: str(o["date"]))

    def _events(self) -> list[dict[str, Any]]:
        return [
            {
                "at": (self.today - timedelta(days=self.random.randint(0, 90))).isoformat(),
                "page": self.random.choice(_PAGES),
                "category": self.random.choice(_CATEGORIES),
            }
            for _ in range(self.random.randint(0, 8))
        ]

    def _tickets(self) -> list[dict[str, Any]]:
        return [
            {
                "opened": (self.today - timedelta(days=self.random.randint(0, 600))).isoformat(),
                "topic": self.random.choice(_TOPICS),
                "status": self.random.choice(("ouvert", "resolu")),
            }
            for _ in range(self.random.choice((0, 0, 0, 1, 1, 2)))
        ]

    def customer(self) -> dict[str, Any]:
        """One customer with every field the example manifest knows about."""
        self._n += 1
        first, last = self.faker.first_name(), self.faker.last_name()
        birth = self.faker.date_of_birth(minimum_age=18, maximum_age=90)
        street = self.faker.street_address()
        postcode, city = self.faker.postcode(), self.faker.city()
        return {
            "first_name": first,
            "last_name": last,
            "email": f"{_slug(first)}.{_slug(last)}.{self._n}@{self.random.choice(_DOMAINS)}",
            "phone": self.phone(),
            "street_address": street,
            "postal_code": postcode,
            "city": city,
            "birth_date": birth.isoformat(),
            "loyalty_tier": self.random.choice(_TIERS),
            "orders": self._orders(),
            "browsing_events": self._events(),
            "support_tickets": self._tickets(),
            "payment_token": f"tok_{self.random.getrandbits(96):024x}",
        }

    def customers(self, count: int) -> Iterator[dict[str, Any]]:
        for _ in range(count):
            yield self.customer()
