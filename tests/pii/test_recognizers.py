"""Each entity type in French and in English, found where it is and not where it is not."""

from __future__ import annotations

import itertools

import pytest
from faker import Faker

from confiance.pii import EntityType, Finding, Scanner, detect_language
from tests.pii import values


def found(scanner: Scanner, text: str, language: str) -> list[tuple[EntityType, str]]:
    return [(f.entity, text[f.start : f.end]) for f in scanner.scan(text, language=language)]


def of_type(scanner: Scanner, text: str, language: str, entity: EntityType) -> list[str]:
    return [value for kind, value in found(scanner, text, language) if kind is entity]


@pytest.mark.parametrize(
    ("language", "template"),
    [
        ("fr", "Écrivez-moi à {v} s'il vous plaît."),
        ("en", "Please write to {v} today."),
    ],
)
def test_email(scanner: Scanner, language: str, template: str) -> None:
    address = Faker("fr_FR").user_name() + "@service-client.example"
    assert of_type(scanner, template.format(v=address), language, EntityType.EMAIL) == [address]
    assert of_type(scanner, template.format(v="quelqu'un at nulle part"), language,
                   EntityType.EMAIL) == []  # fmt: skip


@pytest.mark.parametrize(
    ("language", "text", "number"),
    [
        ("fr", "Rappelez-moi au {} après 18h.", "06 12 34 56 78"),
        ("fr", "Mon portable : {}.", "+33 6 12 34 56 78"),
        ("en", "Call me on {} tomorrow.", "+44 20 7946 0958"),
        ("en", "My number is {}.", "(415) 555-2671"),
    ],
)
def test_phone(scanner: Scanner, language: str, text: str, number: str) -> None:
    assert of_type(scanner, text.format(number), language, EntityType.PHONE) == [number]


def test_phone_negatives(scanner: Scanner) -> None:
    # Too short, and a French number with a prefix no line has.
    text = "Commande 1234 livrée; numéro 00 00 00 00 00 inconnu."
    assert of_type(scanner, text, "fr", EntityType.PHONE) == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_iban_and_card_with_checksums(scanner: Scanner, language: str) -> None:
    iban = values.iban_number()
    card = values.card()
    text = f"IBAN {iban} / carte {card} / card {values.card('37', 15)}"
    assert of_type(scanner, text, language, EntityType.IBAN) == [iban]
    assert of_type(scanner, text, language, EntityType.CARD) == [card, values.card("37", 15)]
    bad = f"IBAN {values.broken(iban)} / carte {values.broken(card)}"
    assert of_type(scanner, bad, language, EntityType.IBAN) == []
    assert of_type(scanner, bad, language, EntityType.CARD) == []


def test_french_numbers_with_checksums(scanner: Scanner) -> None:
    nir, siren, siret, vat = (
        values.nir_number(),
        values.siren_number(),
        values.siret_number(),
        values.vat_number(),
    )
    text = f"NIR {nir}. Société SIREN {siren}, SIRET {siret}, TVA {vat}."
    result = found(scanner, text, "fr")
    assert (EntityType.FR_NIR, nir) in result
    assert (EntityType.FR_SIREN, siren) in result
    assert (EntityType.FR_SIRET, siret) in result
    assert (EntityType.FR_VAT, vat) in result
    # A SIRET begins with its SIREN: it is reported once, as a SIRET.
    assert len([r for r in result if r[1].startswith(siren[:3])]) == 2


def test_french_numbers_failing_their_checksum_are_not_reported(scanner: Scanner) -> None:
    text = (
        f"NIR {values.broken(values.nir_number())}. SIREN {values.broken(values.siren_number())}"
        f", SIRET {values.broken(values.siret_number())}, TVA {values.broken(values.vat_number())}."
    )
    kinds = {kind for kind, _ in found(scanner, text, "fr")}
    assert not kinds & {EntityType.FR_NIR, EntityType.FR_SIREN, EntityType.FR_SIRET,
                        EntityType.FR_VAT}  # fmt: skip


@pytest.mark.parametrize(
    ("language", "text", "date"),
    [
        ("fr", "Je suis née le 3 janvier 2001 à Nantes.", "3 janvier 2001"),
        ("fr", "Date de naissance : 03/01/2001", "03/01/2001"),
        ("fr", "Né le 1er mars 1990, client depuis 2015.", "1er mars 1990"),
        ("en", "I was born on March 3rd, 1985 in Leeds.", "March 3rd, 1985"),
        ("en", "Date of birth: 14 July 1979", "14 July 1979"),
    ],
)
def test_date_of_birth(scanner: Scanner, language: str, text: str, date: str) -> None:
    assert of_type(scanner, text, language, EntityType.DATE_OF_BIRTH) == [date]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fr", "Livraison prévue le 3 janvier 2025."),
        ("fr", "Née le 31/02/2001, date impossible."),
        ("en", "The parcel left on March 3rd, 2024."),
    ],
)
def test_dates_that_are_not_births(scanner: Scanner, language: str, text: str) -> None:
    assert of_type(scanner, text, language, EntityType.DATE_OF_BIRTH) == []


@pytest.mark.parametrize(
    ("language", "text", "address"),
    [
        ("fr", "J'habite au 12 rue de la Paix, 75002 Paris depuis un an.",
         "12 rue de la Paix, 75002 Paris"),
        ("fr", "Livrez au 3 bis avenue Jean Jaurès 69007 Lyon merci.",
         "3 bis avenue Jean Jaurès 69007 Lyon"),
        ("en", "Send it to 221 Baker Street, London NW1 6XE please.",
         "221 Baker Street, London NW1 6XE"),
        ("en", "I moved to 742 Evergreen Terrace, Springfield, IL 62704 last year.",
         "742 Evergreen Terrace, Springfield, IL 62704"),
    ],
)  # fmt: skip
def test_address(scanner: Scanner, language: str, text: str, address: str) -> None:
    assert of_type(scanner, text, language, EntityType.ADDRESS) == [address]


def test_address_negatives(scanner: Scanner) -> None:
    text = "J'ai commandé 3 articles et 12 chaussettes, livrés en 2 jours."
    assert of_type(scanner, text, "fr", EntityType.ADDRESS) == []


@pytest.mark.parametrize(
    ("language", "text", "name"),
    [
        ("fr", "Bonjour, Madame Durand a appelé ce matin.", "Durand"),
        ("fr", "M. Gaspard Roux attend un remboursement.", "Gaspard Roux"),
        ("fr", "Mme Ravelonirina a écrit hier.", "Ravelonirina"),
        ("en", "Mrs Jane Doyle called this morning.", "Jane Doyle"),
        ("en", "Dr. Aldous Pemberly will visit.", "Aldous Pemberly"),
        ("fr", "Bonjour, je m'appelle Timothée Da Costa.", "Timothée Da Costa"),
        ("en", "Please refund me. Thanks, Amber Pearce", "Amber Pearce"),
    ],
)
def test_civility_is_never_part_of_a_name(
    scanner: Scanner, language: str, text: str, name: str
) -> None:
    assert of_type(scanner, text, language, EntityType.PERSON) == [name]


@pytest.mark.parametrize(("language", "locale"), [("fr", "fr_FR"), ("en", "en_GB")])
def test_names_by_the_model(scanner: Scanner, language: str, locale: str) -> None:
    fake = Faker(locale)
    fake.seed_instance(5)
    template = {
        "fr": "Le colis de {} est arrivé abîmé, il demande un échange.",
        "en": "The parcel for {} arrived damaged and she wants a refund.",
    }[language]
    hits = 0
    for _ in range(10):
        name = f"{fake.first_name()} {fake.last_name()}"
        hits += of_type(scanner, template.format(name), language, EntityType.PERSON) == [name]
    assert hits >= 8


def test_no_name_in_plain_sentences(scanner: Scanner) -> None:
    # Imperatives opening a message are not names, even when the model says so.
    assert of_type(scanner, "Remboursez sur mon compte.", "fr", EntityType.PERSON) == []
    assert of_type(scanner, "Le colis est arrivé abîmé.", "fr", EntityType.PERSON) == []
    assert of_type(scanner, "The parcel arrived damaged.", "en", EntityType.PERSON) == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_ip_addresses(scanner: Scanner, language: str) -> None:
    text = "From 203.0.113.42 then 2001:db8::8a2e:370:7334; not 999.1.1.1 nor version 1.2.3."
    assert of_type(scanner, text, language, EntityType.IP_ADDRESS) == [
        "203.0.113.42",
        "2001:db8::8a2e:370:7334",
    ]


def test_findings_are_ordered_offsets_with_scores(scanner: Scanner) -> None:
    text = "Madame Durand, durand@exemple.example, 06 12 34 56 78"
    result = scanner.scan(text, language="fr")
    assert [f.start for f in result] == sorted(f.start for f in result)
    assert all(isinstance(f, Finding) and 0 < f.score <= 1 and f.recognizer for f in result)
    assert all(a.end <= b.start for a, b in itertools.pairwise(result))


def test_language_detection() -> None:
    assert detect_language("Bonjour, je voudrais changer mon adresse de livraison.") == "fr"
    assert detect_language("Hello, I would like to change my delivery address.") == "en"


def test_auto_language_reads_each_text_in_its_own(scanner: Scanner) -> None:
    texts = ["Madame Durand est née le 3 janvier 2001.", "Mrs Doyle was born on 3 May 1980."]
    result = scanner.scan_many(texts, language="auto")
    assert [(f.entity, t[f.start : f.end]) for t, fs in zip(texts, result, strict=True)
            for f in fs] == [
        (EntityType.PERSON, "Durand"), (EntityType.DATE_OF_BIRTH, "3 janvier 2001"),
        (EntityType.PERSON, "Doyle"), (EntityType.DATE_OF_BIRTH, "3 May 1980"),
    ]  # fmt: skip


def test_unknown_language_is_refused(scanner: Scanner) -> None:
    from confiance.pii import UnsupportedLanguage

    with pytest.raises(UnsupportedLanguage):
        scanner.scan("hola", language="es")
