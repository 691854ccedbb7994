"""What Confiance writes to a requester, in French or English.

Short plain sentences, one message per step. The privacy center (issue 04) moves these texts
to Babel catalogs with the pages; dates are already formatted by Babel for the language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

__all__ = ["KIND_LABELS", "Message", "compose", "language_of"]

KIND_LABELS: dict[str, dict[str, str]] = {
    "access": {"fr": "accès à vos données", "en": "access to your data"},
    "portability": {"fr": "portabilité de vos données", "en": "a portable copy of your data"},
    "rectification": {"fr": "rectification de vos données", "en": "correction of your data"},
    "erasure": {"fr": "effacement de vos données", "en": "erasure of your data"},
    "restriction": {"fr": "limitation du traitement", "en": "restriction of processing"},
    "objection": {"fr": "opposition au traitement", "en": "objection to processing"},
    "opt_out_sale": {
        "fr": "opposition à la vente ou au partage de vos données",
        "en": "opt-out of the sale or sharing of your data",
    },
    "limit_sensitive": {
        "fr": "limitation de l'usage de vos données sensibles",
        "en": "limit on the use of your sensitive data",
    },
}

_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "code": {
        "fr": (
            "Votre code de vérification : {code}",
            "Bonjour,\n\nVous avez demandé : {label} (référence {reference}).\n"
            "Pour confirmer que cette adresse est bien la vôtre, saisissez ce code : {code}\n"
            "Il est valable {minutes} minutes et ne sert qu'une fois.\n"
            "Une fois la demande confirmée, nous y répondrons au plus tard le {due}.\n\n"
            "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : rien ne "
            "sera fait.\n",
        ),
        "en": (
            "Your verification code: {code}",
            "Hello,\n\nYou asked for: {label} (reference {reference}).\n"
            "To confirm this address is yours, enter this code: {code}\n"
            "It is valid for {minutes} minutes and works once.\n"
            "Once the request is confirmed, we will answer by {due} at the latest.\n\n"
            "If you did not make this request, ignore this message: nothing will be done.\n",
        ),
    },
    "acknowledged": {
        "fr": (
            "Nous avons bien reçu votre demande {reference}",
            "Bonjour,\n\nVotre demande ({label}, référence {reference}) est bien enregistrée et "
            "votre adresse vérifiée. Nous y répondrons au plus tard le {due}.\n",
        ),
        "en": (
            "We have received your request {reference}",
            "Hello,\n\nYour request ({label}, reference {reference}) is recorded and your "
            "address verified. We will answer by {due} at the latest.\n",
        ),
    },
    "completed": {
        "fr": (
            "Votre demande {reference} est traitée",
            "Bonjour,\n\nVotre demande ({label}, référence {reference}) est traitée.\n\n"
            "{outcome}\n",
        ),
        "en": (
            "Your request {reference} is done",
            "Hello,\n\nYour request ({label}, reference {reference}) is done.\n\n{outcome}\n",
        ),
    },
    "refused": {
        "fr": (
            "Votre demande {reference} n'a pas pu aboutir",
            "Bonjour,\n\nNous ne pouvons pas donner suite à votre demande ({label}, référence "
            "{reference}), pour la raison suivante :\n\n{reason}\n\nVous pouvez introduire une "
            "réclamation auprès de la CNIL (www.cnil.fr) ou contacter notre délégué à la "
            "protection des données : {dpo}.\n",
        ),
        "en": (
            "Your request {reference} could not be granted",
            "Hello,\n\nWe cannot grant your request ({label}, reference {reference}), for this "
            "reason:\n\n{reason}\n\nYou may lodge a complaint with a data protection authority "
            "or contact our data protection officer: {dpo}.\n",
        ),
    },
    "extended": {
        "fr": (
            "Votre demande {reference} : délai prolongé",
            "Bonjour,\n\nNous avons besoin de plus de temps pour répondre à votre demande "
            "({label}, référence {reference}). Nous y répondrons au plus tard le {due}.\n\n"
            "Pourquoi : {reason}\n",
        ),
        "en": (
            "Your request {reference}: more time needed",
            "Hello,\n\nWe need more time to answer your request ({label}, reference "
            "{reference}). We will answer by {due} at the latest.\n\nWhy: {reason}\n",
        ),
    },
}

OUTCOMES: dict[str, dict[str, str]] = {
    "no_data": {
        "fr": "Nous ne détenons aucune donnée associée à cette adresse.",
        "en": "We hold no data associated with this address.",
    },
    "export_ready": {
        "fr": "Vos données sont prêtes : téléchargez-les depuis l'espace confidentialité avec "
        "votre référence.",
        "en": "Your data is ready: download it from the privacy center with your reference.",
    },
    "erased": {
        "fr": "Vos données ont été effacées, chez nous et chez les systèmes qui les recevaient.",
        "en": "Your data has been erased, by us and by the systems that received it.",
    },
    "erased_held": {
        "fr": "Vos données ont été effacées, sauf celles que la loi nous oblige à garder "
        "({fields}) jusqu'au {until} ; elles ne servent plus qu'à cette obligation.",
        "en": "Your data has been erased, except what the law requires us to keep ({fields}) "
        "until {until}; it is used for that obligation only.",
    },
    "rectified": {
        "fr": "Vos données ont été corrigées.",
        "en": "Your data has been corrected.",
    },
    "restricted": {
        "fr": "Le traitement de vos données est limité : elles sont seulement conservées. "
        "Nous vous préviendrons avant de lever cette limitation.",
        "en": "Processing of your data is restricted: it is only stored. We will tell you "
        "before lifting the restriction.",
    },
    "objection": {
        "fr": "Nous avons cessé d'utiliser vos données pour : {purposes}.",
        "en": "We have stopped using your data for: {purposes}.",
    },
    "opted_out": {
        "fr": "C'est fait : vos choix s'appliquent dès maintenant.",
        "en": "Done: your choice applies from now on.",
    },
}


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str


def language_of(value: str | None) -> str:
    return "en" if value and value.lower().startswith("en") else "fr"


def local_date(moment: datetime, language: str, zone: ZoneInfo | None = None) -> str:
    """A deadline as the requester reads it: the day in the zone it is counted in."""
    local = moment.astimezone(zone or ZoneInfo("Europe/Paris"))
    return format_date(local.date(), format="long", locale=language_of(language))


def outcome_text(key: str, language: str, **values: str) -> str:
    return OUTCOMES[key][language_of(language)].format(**values)


def compose(step: str, language: str, **values: str) -> Message:
    lang = language_of(language)
    subject, body = _TEXTS[step][lang]
    if "kind" in values:
        values = {**values, "label": KIND_LABELS[values["kind"]][lang]}
    return Message(subject.format(**values), body.format(**values))
