"""Benchmark: PII detection in French and English messages, Confiance against Presidio.

Builds a labelled corpus from hand-written support-message templates filled with fictional
values: names, cities and streets from Faker (a generator the scanner never sees), e-mail
addresses on ``.example`` domains, and identifiers (IBAN, cards, NIR, SIREN, SIRET, VAT)
drawn at random and completed with python-stdnum's check digits. Templates also carry
distractors: order numbers, prices, dates that are not births.

Both engines run in this one invocation on the same texts, grouped by language: Confiance in
this process, Presidio's ``BatchAnalyzerEngine`` in its own environment
(``benchmarks/peers/peer_env.py`` creates it on first use). Prints, per entity type, precision,
recall and F1 on exact spans for both, and documents per second.

    python benchmarks/pii.py
    python benchmarks/pii.py --docs 1000 --seed 3
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import phonenumbers
from faker import Faker
from stdnum import iban, luhn
from stdnum.fr import nir

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

import peer_env

from confiance.pii import Scanner

Span = tuple[str, int, int]

PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "IBAN_CODE": "iban",
    "CREDIT_CARD": "card",
    "FR_NIR": "fr_nir",
    "FR_SIRET": "fr_siret",
    "PERSON": "person",
    "IP_ADDRESS": "ip_address",
    "DATE_TIME": "date_of_birth",
    "LOCATION": "address",
}

FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre"]  # fmt: skip
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]  # fmt: skip

FR_TEMPLATES = [
    "Bonjour, je suis {person} et ma commande n°{order} n'est jamais arrivée.",
    "Bonjour, Madame {last} souhaite être rappelée au {phone} avant 18h.",
    "Merci d'écrire à {email} pour le suivi, commande {order} du {other_date}.",
    "Je suis né le {dob_fr}, voici mon numéro de sécurité sociale : {nir}.",
    "Veuillez rembourser sur mon IBAN {iban}, merci. {person}",
    "Ma carte {card} a été débitée deux fois de {price} euros.",
    "Nouvelle adresse de livraison : {address_fr}.",
    "Notre société (SIRET {siret}, TVA {vat}) souhaite une facture à son nom.",
    "Le SIREN de l'entreprise est {siren}. Contact : M. {person}, {phone}.",
    "Connexion suspecte depuis l'adresse {ipv4} hier soir, puis {ipv6}.",
    "Date de naissance : {dob_num}. Le colis est arrivé abîmé, je voudrais un échange.",
    "Le colis est arrivé le {other_date}, tout va bien, merci beaucoup !",
    "Pouvez-vous annuler la commande {order} ? Le produit coûte {price} euros.",
    "{person} a appelé pour signaler un retard; rappeler au {phone}.",
    "Bonjour, je m'appelle {person}, j'habite {address_fr} et je suis née le {dob_fr}.",
]
EN_TEMPLATES = [
    "Hello, my name is {person} and my order {order} never arrived.",
    "Mrs {last} would like a call back on {phone} before 6pm.",
    "Please send the tracking details to {email}, order {order} of {other_date_en}.",
    "I was born on {dob_en}; my card {card} was charged twice.",
    "Please refund to my IBAN {iban}. Thanks, {person}",
    "New delivery address: {address_en}.",
    "Suspicious login from {ipv4} last night, then from {ipv6}.",
    "Date of birth: {dob_num}. The parcel arrived damaged and I want a replacement.",
    "The parcel arrived on {other_date_en}, all good, thank you!",
    "Can you cancel order {order}? The item costs {price} pounds.",
    "{person} called about a delay; call back on {phone}.",
    "Hi, I am {person}, I live at {address_en} and my email is {email}.",
]

# Which slots are personal data, and of which type; the others are distractors.
SLOT_TYPES = {
    "person": "person", "last": "person", "phone": "phone", "email": "email",
    "dob_fr": "date_of_birth", "dob_en": "date_of_birth", "dob_num": "date_of_birth",
    "nir": "fr_nir", "iban": "iban", "card": "card", "address_fr": "address",
    "address_en": "address", "siret": "fr_siret", "siren": "fr_siren", "vat": "fr_vat",
    "ipv4": "ip_address", "ipv6": "ip_address",
}  # fmt: skip


class Values:
    """Fictional values, with valid check digits where the type has them."""

    def __init__(self, rng: random.Random, language: str) -> None:
        self.rng = rng
        self.language = language
        self.fake = Faker("fr_FR" if language == "fr" else "en_GB")
        self.fake.seed_instance(rng.randrange(1 << 30))

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def make(self, slot: str) -> str:
        maker: Callable[[], str] = getattr(self, slot)
        return maker()

    def person(self) -> str:
        return f"{self.fake.first_name()} {self.fake.last_name()}"

    def last(self) -> str:
        return str(self.fake.last_name())

    def phone(self) -> str:
        # Numbers a line could have: phonenumbers' metadata decides, not the scanner.
        while True:
            if self.language == "fr":
                text = f"0{self.rng.choice('1234567')} " + " ".join(
                    self.digits(2) for _ in range(4)
                )
                region = "FR"
            else:
                text = f"+44 7{self.rng.choice('45789')}{self.digits(2)} {self.digits(6)}"
                region = "GB"
            if phonenumbers.is_valid_number(phonenumbers.parse(text, region)):
                return text

    def email(self) -> str:
        user = self.fake.user_name()
        return f"{user}@{self.rng.choice(['mail', 'boite', 'courrier'])}.example"

    def _dob(self) -> date:
        return date(1940, 1, 1) + timedelta(days=self.rng.randrange(365 * 65))

    def dob_fr(self) -> str:
        d = self._dob()
        day = "1er" if d.day == 1 else str(d.day)
        return f"{day} {FR_MONTHS[d.month - 1]} {d.year}"

    def dob_en(self) -> str:
        d = self._dob()
        if self.rng.random() < 0.5:
            return f"{EN_MONTHS[d.month - 1]} {d.day}, {d.year}"
        return f"{d.day} {EN_MONTHS[d.month - 1]} {d.year}"

    def dob_num(self) -> str:
        d = self._dob()
        return f"{d.day:02d}/{d.month:02d}/{d.year}"

    def other_date(self) -> str:
        d = date(2024, 1, 1) + timedelta(days=self.rng.randrange(600))
        return f"{d.day} {FR_MONTHS[d.month - 1]} {d.year}"

    def other_date_en(self) -> str:
        d = date(2024, 1, 1) + timedelta(days=self.rng.randrange(600))
        return f"{EN_MONTHS[d.month - 1]} {d.day}, {d.year}"

    def nir(self) -> str:
        body = (
            self.rng.choice("12") + self.digits(2) + f"{self.rng.randint(1, 12):02d}"
            + f"{self.rng.randint(1, 95):02d}" + self.digits(6)
        )  # fmt: skip
        n = body + nir.calc_check_digits(body)
        return f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}"

    def iban(self) -> str:
        if self.language == "fr":
            bank, branch, account = self.digits(5), self.digits(5), self.digits(11)
            key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
            bban, country = f"{bank}{branch}{account}{key:02d}", "FR"
        else:
            bban, country = self.rng.choice("ABCDEFGHNW") * 4 + self.digits(14), "GB"
        compact = country + iban.calc_check_digits(country + "00" + bban) + bban
        assert iban.is_valid(compact)
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))

    def card(self) -> str:
        body = self.rng.choice(["4", "51", "53", "55"])
        body += self.digits(15 - len(body))
        n = body + luhn.calc_check_digit(body)
        return " ".join(n[i : i + 4] for i in range(0, 16, 4))

    def siren(self) -> str:
        body = str(self.rng.randint(1, 9)) + self.digits(7)
        n = body + luhn.calc_check_digit(body)
        return f"{n[:3]} {n[3:6]} {n[6:]}"

    def siret(self) -> str:
        body = self.siren().replace(" ", "") + self.digits(4)
        n = body + luhn.calc_check_digit(body)
        return f"{n[:3]} {n[3:6]} {n[6:9]} {n[9:]}"

    def vat(self) -> str:
        s = self.siren().replace(" ", "")
        return f"FR{(12 + 3 * (int(s) % 97)) % 97:02d}{s}"

    def address_fr(self) -> str:
        street = self.fake.street_address()
        return f"{street}, {self.fake.postcode()} {self.fake.city()}"

    def address_en(self) -> str:
        kind = self.rng.choice(["Street", "Road", "Lane", "Avenue", "Close", "Drive"])
        return (
            f"{self.rng.randint(1, 300)} {self.fake.last_name()} {kind}, "
            f"{self.fake.city()} {self.fake.postcode()}"
        )

    def ipv4(self) -> str:
        return str(self.fake.ipv4_public())

    def ipv6(self) -> str:
        return str(self.fake.ipv6())

    def order(self) -> str:
        # Nine digits pass a SIREN's Luhn check one time in ten: a distractor on purpose.
        return str(self.rng.randint(1, 9)) + self.digits(self.rng.choice([5, 7, 8]))

    def price(self) -> str:
        return f"{self.rng.randint(5, 400)},{self.digits(2)}"


def fill(template: str, values: Values) -> tuple[str, list[Span]]:
    text, spans = "", []
    for part in _parts(template):
        if part.startswith("{"):
            slot = part[1:-1]
            value = values.make(slot)
            if slot in SLOT_TYPES:
                spans.append((SLOT_TYPES[slot], len(text), len(text) + len(value)))
            text += value
        else:
            text += part
    return text, spans


def _parts(template: str) -> list[str]:
    parts, current = [], ""
    for char in template:
        if char == "{":
            parts.append(current)
            current = "{"
        elif char == "}":
            parts.append(current + "}")
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p]


def corpus(docs: int, seed: int) -> dict[str, tuple[list[str], list[list[Span]]]]:
    rng = random.Random(seed)
    out: dict[str, tuple[list[str], list[list[Span]]]] = {}
    for lang, templates in (("fr", FR_TEMPLATES), ("en", EN_TEMPLATES)):
        values = Values(rng, lang)
        texts, gold = [], []
        for i in range(docs):
            text, spans = fill(templates[i % len(templates)], values)
            texts.append(text)
            gold.append(spans)
        out[lang] = (texts, gold)
    return out


def score(gold: list[list[Span]], predicted: list[list[Span]]) -> dict[str, tuple[int, int, int]]:
    """Per type: true positives, false positives, false negatives, on exact spans."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for g, p in zip(gold, predicted, strict=True):
        gs, ps = set(g), set(p)
        for kind, *_ in gs & ps:
            counts[kind][0] += 1
        for kind, *_ in ps - gs:
            counts[kind][1] += 1
        for kind, *_ in gs - ps:
            counts[kind][2] += 1
    return {k: (v[0], v[1], v[2]) for k, v in counts.items()}


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def run_confiance(texts: dict[str, list[str]]) -> tuple[dict[str, list[list[Span]]], float]:
    scanner = Scanner()
    spans: dict[str, list[list[Span]]] = {}
    elapsed = 0.0
    for lang, batch in texts.items():
        scanner.scan_many(batch[:20], language=lang)  # loads the pipeline, as Presidio's warm-up
        start = time.perf_counter()
        found = scanner.scan_many(batch, language=lang)
        elapsed += time.perf_counter() - start
        spans[lang] = [[(f.entity.value, f.start, f.end) for f in fs] for fs in found]
    return spans, elapsed


def run_presidio(texts: dict[str, list[str]]) -> tuple[dict[str, list[list[Span]]], float]:
    python = peer_env.ensure("pii")
    runner = Path(__file__).resolve().parent / "peers" / "presidio_pii.py"
    with tempfile.TemporaryDirectory() as tmp:
        source, result = Path(tmp) / "corpus.json", Path(tmp) / "result.json"
        source.write_text(json.dumps(texts), encoding="utf-8")
        subprocess.run([str(python), str(runner), str(source), str(result)], check=True)
        data = json.loads(result.read_text(encoding="utf-8"))
    spans = {
        lang: [
            [(PRESIDIO_TYPES[t], s, e) for t, s, e, _ in found if t in PRESIDIO_TYPES]
            for found in docs
        ]
        for lang, docs in data["spans"].items()
    }
    return spans, sum(data["seconds"].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="Documents per language.")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    data = corpus(args.docs, args.seed)
    texts = {lang: t for lang, (t, _) in data.items()}
    total = sum(len(t) for t in texts.values())

    results = {"Confiance": run_confiance(texts), "Presidio": run_presidio(texts)}
    print(f"{total} documents ({args.docs} French, {args.docs} English), exact-span matching\n")
    print(f"{'entity':<15}{'engine':<11}{'precision':>10}{'recall':>8}{'F1':>8}")
    tables = {}
    for engine, (spans, _) in results.items():
        gold = [g for lang in texts for g in data[lang][1]]
        predicted = [p for lang in texts for p in spans[lang]]
        tables[engine] = score(gold, predicted)
    kinds = sorted(set(SLOT_TYPES.values()))
    for kind in kinds:
        for engine, table in tables.items():
            p, r, f = prf(*table.get(kind, (0, 0, 0)))
            print(f"{kind:<15}{engine:<11}{p:>10.3f}{r:>8.3f}{f:>8.3f}")
    print()
    rates = {engine: total / seconds for engine, (_, seconds) in results.items()}
    for engine, rate in rates.items():
        print(f"{engine:<11}{rate:>10.0f} documents/s")
    print(f"ratio      {rates['Confiance'] / rates['Presidio']:>10.1f}x")


if __name__ == "__main__":
    main()
