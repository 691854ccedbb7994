"""Words of the export for people: the French and English texts of the summary page, and
dates, periods, countries and lists written the way each language writes them (Babel).

The texts live in one small catalog, :data:`CATALOG`, until the privacy center moves every
customer-facing text to Babel message catalogs. Both languages hold the same keys; a test
keeps them in step.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.units import format_unit

from confiance.manifest.schemas import Duration, Recipient, Retention

__all__ = [
    "CATALOG",
    "LANGUAGES",
    "Words",
]

LANGUAGES = ("fr", "en")

CATALOG: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Vos données chez {controller}",
        "generated": "Archive créée le {when}.",
        "intro": (
            "Cette archive contient tout ce que {controller} détient sur vous, et rien sur "
            "personne d'autre : vos données, pourquoi nous les gardons et combien de temps, "
            "avec qui nous les partageons, vos choix de consentement, qui a consulté vos "
            "données et pourquoi, et vos demandes précédentes."
        ),
        "contact": "Pour toute question, écrivez à notre délégué à la protection des données : "
        "{dpo} ({email}).",
        "files_heading": "Les fichiers de cette archive",
        "files_intro": (
            "Cette page est faite pour être lue. Les mêmes informations sont dans des fichiers "
            "que vous pouvez réutiliser ou transmettre à un autre service :"
        ),
        "file_json": "toutes les informations dans un seul document JSON",
        "file_csv": "un tableau par rubrique, à ouvrir dans un tableur",
        "file_lists": "une ligne par élément de chaque liste (par exemple vos commandes)",
        "file_receipts": "les reçus signés de vos choix de consentement",
        "csv_note": (
            "Dans les fichiers CSV, une cellule qui commencerait par =, +, -, @ ou une "
            "tabulation est précédée d'une apostrophe, pour qu'un tableur ne l'exécute jamais "
            "comme une formule ; un numéro de téléphone comme +33 6… apparaît donc '+33 6…."
        ),
        "account_heading": "Votre compte",
        "account_created": "Client depuis le {when}.",
        "account_restricted": "L'utilisation de vos données est limitée depuis le {when}.",
        "account_erased": (
            "Vos données ont été effacées le {when}, sauf celles que la loi nous oblige "
            "à conserver."
        ),
        "profile_heading": "Ce que nous détenons sur vous",
        "profile_empty": "Nous ne détenons aucune donnée sur vous.",
        "col_data": "Donnée",
        "col_value": "Valeur",
        "col_why": "Pourquoi nous la gardons",
        "col_purposes": "Utilisée pour",
        "list_value": "{count} élément(s), détail ci-dessous",
        "list_heading": "{field} ({count})",
        "list_empty": "Aucun élément.",
        "purposes_heading": "Ce que nous en faisons",
        "purposes_empty": "Aucune utilisation de vos données n'est déclarée.",
        "col_purpose": "Utilisation",
        "col_description": "Ce que nous faisons",
        "col_benefit": "Ce que vous y gagnez",
        "col_basis": "Sur quelle base",
        "col_retention": "Combien de temps",
        "col_recipients": "Avec qui nous les partageons",
        "col_fields": "Données utilisées",
        "nobody": "personne en dehors de notre entreprise",
        "consent_heading": "Vos choix",
        "col_choice": "Votre choix",
        "col_since": "Depuis le",
        "col_until": "Valable jusqu'au",
        "col_allowed": "Utilisation permise aujourd'hui",
        "history_heading": "L'historique de vos choix",
        "history_empty": "Vous n'avez fait aucun choix pour l'instant.",
        "col_date": "Date",
        "col_channel": "Par",
        "col_receipt": "Reçu",
        "access_heading": "Qui a consulté vos données, et pourquoi",
        "access_empty": "Aucun accès enregistré.",
        "col_who": "Qui",
        "col_what": "Quoi",
        "col_why_access": "Pour quoi",
        "col_result": "Résultat",
        "requests_heading": "Vos demandes",
        "requests_empty": "Vous n'avez fait aucune demande.",
        "col_reference": "Référence",
        "col_kind": "Demande",
        "col_status": "État",
        "col_received": "Reçue le",
        "col_due": "Réponse due le",
        "col_closed": "Close le",
        "col_refusal": "Motif du refus",
        "yes": "oui",
        "no": "non",
        "none": "—",
        # Legal bases (GDPR art. 6).
        "basis.consent": "votre consentement",
        "basis.contract": "le contrat qui nous lie (nécessaire pour vous servir)",
        "basis.legal_obligation": "une obligation légale",
        "basis.vital_interest": "la protection de vos intérêts vitaux",
        "basis.public_task": "une mission d'intérêt public",
        "basis.legitimate_interest": "notre intérêt légitime (vous pouvez vous y opposer)",
        # Retention.
        "retention": "{period} {start}, puis {action}",
        "retention.none": "durée non précisée",
        "start.collection": "après la collecte",
        "start.last_contact": "après votre dernier contact avec nous",
        "start.end_of_contract": "après la fin du contrat",
        "after.delete": "supprimées",
        "after.anonymise": "anonymisées",
        # Recipients.
        "role.processor": "sous-traitant",
        "role.third_party": "tiers destinataire",
        "safeguard.adequacy": "décision d'adéquation",
        "safeguard.scc": "clauses contractuelles types",
        "safeguard.bcr": "règles d'entreprise contraignantes",
        "safeguard.derogation": "dérogation (art. 49 du RGPD)",
        # Consent.
        "state.given": "accepté",
        "state.refused": "refusé",
        "state.withdrawn": "retiré",
        "state.expired": "expiré",
        "state.revoked": "révoqué par nous",
        "state.invalidated": "invalidé par nous",
        "state.none": "aucun choix",
        "state.none.consent": "aucun choix, donc pas de consentement",
        "state.none.objection": "pas d'opposition",
        "state.none.opt_out_sale_sharing": "pas d'opposition",
        "state.none.limit_sensitive": "pas de limitation demandée",
        "state.not_decidable": "pas de choix à faire : {basis}",
        "allowed.true": "oui",
        "allowed.false": "non",
        "target.@sale_sharing": "Vente ou partage de vos données, et publicité ciblée",
        "target.@sensitive": "Utilisation de vos données sensibles",
        "channel.privacy_center": "l'espace confidentialité",
        "channel.api": "une application",
        "channel.import": "un import",
        "channel.gpc": "le signal Global Privacy Control de votre navigateur",
        "channel.tcf": "le bandeau de consentement",
        "channel.controller": "nous",
        "channel.rights_request": "votre demande sur vos droits",
        # Audit trail.
        "action.vault.collect": "Données enregistrées",
        "action.vault.read": "Données consultées",
        "action.vault.subject_read": "Toutes vos données lues pour une demande sur vos droits",
        "action.vault.rectify": "Données corrigées",
        "action.vault.lookup": "Votre compte recherché",
        "action.consent.record": "Votre choix enregistré",
        "action.access.refused": "Accès refusé",
        "action.erasure.erase": "Données effacées",
        "action.rights.receive": "Votre demande reçue",
        "action.rights.verify": "Votre identité vérifiée",
        "action.rights.verify-by-staff": "Votre identité vérifiée par notre équipe",
        "action.rights.assign": "Votre demande confiée à un membre de notre équipe",
        "action.rights.approve": "Votre demande acceptée",
        "action.rights.refuse": "Votre demande refusée",
        "action.rights.extend": "Délai de réponse prolongé",
        "action.rights.complete": "Votre demande traitée",
        "action.rights.lift-restriction": "Limitation de vos données levée",
        "action.rights.code-rejected": "Code de vérification refusé",
        "action.rights.code-held-back": "Code de vérification non envoyé (trop de demandes)",
        "actor.apikey": "Application ({id})",
        "actor.cli": "Opérateur ({id})",
        "actor.system": "Traitement automatique ({id})",
        "actor.staff": "Membre du personnel ({id})",
        "outcome.ok": "fait",
        "outcome.other": "refusé ({code})",
        "reason.rights.access": "votre demande d'accès",
        "reason.rights.portability": "votre demande de portabilité",
        "reason.rights.erasure": "votre demande d'effacement",
        "reason.rights.rectification": "votre demande de rectification",
        "reason.rights.restriction": "votre demande de limitation",
        "reason.rights.objection": "votre opposition",
        "reason.rights.opt_out_sale": "votre opposition à la vente ou au partage",
        "reason.rights.limit_sensitive": "votre demande de limiter l'usage de données sensibles",
        # Rights requests.
        "kind.access": "accès",
        "kind.portability": "portabilité",
        "kind.erasure": "effacement",
        "kind.rectification": "rectification",
        "kind.restriction": "limitation",
        "kind.objection": "opposition",
        "kind.opt_out_sale": "opposition à la vente ou au partage",
        "kind.limit_sensitive": "limitation de l'usage des données sensibles",
        "status.received": "reçue",
        "status.verified": "identité vérifiée",
        "status.in_progress": "en cours",
        "status.completed": "traitée",
        "status.refused": "refusée",
    },
    "en": {
        "title": "Your data at {controller}",
        "generated": "Archive made on {when}.",
        "intro": (
            "This archive holds everything {controller} holds about you, and nothing about "
            "anyone else: your data, why we keep it and for how long, who we share it with, "
            "your consent choices, who accessed your data and why, and your past requests."
        ),
        "contact": "For any question, write to our data protection officer: {dpo} ({email}).",
        "files_heading": "The files in this archive",
        "files_intro": (
            "This page is made to be read. The same information is in files that you can "
            "reuse or hand over to another service:"
        ),
        "file_json": "everything in one JSON document",
        "file_csv": "one table per section, to open in a spreadsheet",
        "file_lists": "one row per item of each list (your orders, for example)",
        "file_receipts": "the signed receipts of your consent choices",
        "csv_note": (
            "In the CSV files, a cell that would start with =, +, -, @ or a tab is preceded by "
            "an apostrophe, so that a spreadsheet never runs it as a formula; a phone number "
            "such as +33 6… therefore reads '+33 6…."
        ),
        "account_heading": "Your account",
        "account_created": "Customer since {when}.",
        "account_restricted": "The use of your data has been restricted since {when}.",
        "account_erased": (
            "Your data was erased on {when}, except what the law requires us to keep."
        ),
        "profile_heading": "What we hold about you",
        "profile_empty": "We hold no data about you.",
        "col_data": "Data",
        "col_value": "Value",
        "col_why": "Why we keep it",
        "col_purposes": "Used for",
        "list_value": "{count} item(s), listed below",
        "list_heading": "{field} ({count})",
        "list_empty": "No items.",
        "purposes_heading": "What we do with it",
        "purposes_empty": "No use of your data is declared.",
        "col_purpose": "Use",
        "col_description": "What we do",
        "col_benefit": "What you get from it",
        "col_basis": "On what basis",
        "col_retention": "For how long",
        "col_recipients": "Who we share it with",
        "col_fields": "Data used",
        "nobody": "nobody outside our company",
        "consent_heading": "Your choices",
        "col_choice": "Your choice",
        "col_since": "Since",
        "col_until": "Valid until",
        "col_allowed": "Allowed today",
        "history_heading": "The history of your choices",
        "history_empty": "You have made no choice yet.",
        "col_date": "Date",
        "col_channel": "Through",
        "col_receipt": "Receipt",
        "access_heading": "Who accessed your data, and why",
        "access_empty": "No access recorded.",
        "col_who": "Who",
        "col_what": "What",
        "col_why_access": "What for",
        "col_result": "Result",
        "requests_heading": "Your requests",
        "requests_empty": "You have made no request.",
        "col_reference": "Reference",
        "col_kind": "Request",
        "col_status": "Status",
        "col_received": "Received",
        "col_due": "Answer due",
        "col_closed": "Closed",
        "col_refusal": "Why it was refused",
        "yes": "yes",
        "no": "no",
        "none": "—",
        "basis.consent": "your consent",
        "basis.contract": "our contract with you (needed to serve you)",
        "basis.legal_obligation": "a legal obligation",
        "basis.vital_interest": "protecting your vital interests",
        "basis.public_task": "a task in the public interest",
        "basis.legitimate_interest": "our legitimate interest (you may object)",
        "retention": "{period} {start}, then {action}",
        "retention.none": "not specified",
        "start.collection": "after collection",
        "start.last_contact": "after your last contact with us",
        "start.end_of_contract": "after the end of the contract",
        "after.delete": "deleted",
        "after.anonymise": "anonymised",
        "role.processor": "processor, acting on our behalf",
        "role.third_party": "third party",
        "safeguard.adequacy": "adequacy decision",
        "safeguard.scc": "standard contractual clauses",
        "safeguard.bcr": "binding corporate rules",
        "safeguard.derogation": "derogation (GDPR art. 49)",
        "state.given": "given",
        "state.refused": "refused",
        "state.withdrawn": "withdrawn",
        "state.expired": "expired",
        "state.revoked": "revoked by us",
        "state.invalidated": "invalidated by us",
        "state.none": "no choice made",
        "state.none.consent": "no choice made, so no consent",
        "state.none.objection": "no objection",
        "state.none.opt_out_sale_sharing": "no opt-out",
        "state.none.limit_sensitive": "no limit asked for",
        "state.not_decidable": "no choice to make: {basis}",
        "allowed.true": "yes",
        "allowed.false": "no",
        "target.@sale_sharing": "Sale or sharing of your data, and targeted advertising",
        "target.@sensitive": "Use of your sensitive data",
        "channel.privacy_center": "the privacy center",
        "channel.api": "an application",
        "channel.import": "an import",
        "channel.gpc": "your browser's Global Privacy Control signal",
        "channel.tcf": "the consent banner",
        "channel.controller": "us",
        "channel.rights_request": "your rights request",
        "action.vault.collect": "Data recorded",
        "action.vault.read": "Data read",
        "action.vault.subject_read": "All your data read for a request about your rights",
        "action.vault.rectify": "Data corrected",
        "action.vault.lookup": "Your account looked up",
        "action.consent.record": "Your choice recorded",
        "action.access.refused": "Access refused",
        "action.erasure.erase": "Data erased",
        "action.rights.receive": "Your request received",
        "action.rights.verify": "Your identity verified",
        "action.rights.verify-by-staff": "Your identity verified by our staff",
        "action.rights.assign": "Your request handed to a member of our staff",
        "action.rights.approve": "Your request accepted",
        "action.rights.refuse": "Your request refused",
        "action.rights.extend": "Time to answer extended",
        "action.rights.complete": "Your request completed",
        "action.rights.lift-restriction": "Restriction of your data lifted",
        "action.rights.code-rejected": "Verification code rejected",
        "action.rights.code-held-back": "Verification code not sent (too many requests)",
        "actor.apikey": "Application ({id})",
        "actor.cli": "Operator ({id})",
        "actor.system": "Automatic process ({id})",
        "actor.staff": "Staff member ({id})",
        "outcome.ok": "done",
        "outcome.other": "refused ({code})",
        "reason.rights.access": "your access request",
        "reason.rights.portability": "your portability request",
        "reason.rights.erasure": "your erasure request",
        "reason.rights.rectification": "your rectification request",
        "reason.rights.restriction": "your restriction request",
        "reason.rights.objection": "your objection",
        "reason.rights.opt_out_sale": "your opt-out of sale or sharing",
        "reason.rights.limit_sensitive": "your request to limit the use of your sensitive data",
        "kind.access": "access",
        "kind.portability": "portability",
        "kind.erasure": "erasure",
        "kind.rectification": "rectification",
        "kind.restriction": "restriction",
        "kind.objection": "objection",
        "kind.opt_out_sale": "opt-out of sale or sharing",
        "kind.limit_sensitive": "limit on sensitive data",
        "status.received": "received",
        "status.verified": "identity verified",
        "status.in_progress": "in progress",
        "status.completed": "completed",
        "status.refused": "refused",
    },
}

_UNITS = (
    ("years", "duration-year"),
    ("months", "duration-month"),
    ("weeks", "duration-week"),
    ("days", "duration-day"),
)


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


class Words:
    """The texts and formats of one language (``fr`` or ``en``) and one time zone."""

    def __init__(self, language: str, *, time_zone: str) -> None:
        self.language = language
        self.texts = CATALOG[language]
        self.locale = _locale(language)
        self.zone = ZoneInfo(time_zone)
        self._days: dict[date, str] = {}
        self._times: dict[tuple[int, int], str] = {}

    def __call__(self, key: str, /, **values: str) -> str:
        text = self.texts[key]
        return text.format(**values) if values else text

    def coded(self, prefix: str, code: str | None) -> str:
        """The words for a code (a state, a channel, an action...), or the code itself for one
        the catalog does not know yet: an unexplained code is better than a hidden one."""
        if code is None:
            return self.texts["none"]
        return self.texts.get(f"{prefix}.{code}", code)

    # -- dates ------------------------------------------------------------------------------
    def day(self, value: date | datetime | None) -> str:
        if value is None:
            return self.texts["none"]
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return self._format_day(value)

    def moment(self, value: datetime | None) -> str:
        """A date and time, in the installation's time zone."""
        if value is None:
            return self.texts["none"]
        local = value.astimezone(self.zone)
        return f"{self._format_day(local.date())}, {self._clock(local.hour, local.minute)}"

    # An access trail has thousands of entries over a few days: each day and each minute is
    # formatted once.
    def _format_day(self, day: date) -> str:
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = format_date(day, "long", locale=self.locale)
        return text

    def _clock(self, hour: int, minute: int) -> str:
        text = self._times.get((hour, minute))
        if text is None:
            text = format_time(time(hour, minute), "short", locale=self.locale)
            self._times[(hour, minute)] = text
        return text

    # -- manifest ---------------------------------------------------------------------------
    def period(self, duration: Duration) -> str:
        """'1 an et 6 mois', '1 year and 6 months'."""
        parts = [
            format_unit(getattr(duration, attr), unit, length="long", locale=self.locale)
            for attr, unit in _UNITS
            if getattr(duration, attr)
        ]
        return format_list(parts, locale=self.locale)

    def retention(self, retention: Retention | None) -> str:
        if retention is None:
            return self.texts["retention.none"]
        return self(
            "retention",
            period=self.period(retention.period),
            start=self.texts[f"start.{retention.counted_from.value}"],
            action=self.texts[f"after.{retention.after.value}"],
        )

    def country(self, code: str) -> str:
        return str(self.locale.territories.get(code, code))

    def recipient(self, recipient: Recipient) -> str:
        """'MailWave Inc. (sous-traitant, États-Unis, clauses contractuelles types)'."""
        details = [self.texts[f"role.{recipient.role.value}"], self.country(recipient.country)]
        if recipient.safeguard is not None:
            details.append(self.texts[f"safeguard.{recipient.safeguard.value}"])
        return f"{recipient.name} ({', '.join(details)})"

    def items(self, texts: list[str]) -> str:
        return format_list(texts, locale=self.locale) if texts else self.texts["none"]

    # -- audit trail ------------------------------------------------------------------------
    def actor(self, label: str) -> str:
        kind, _, ident = label.partition(":")
        template = self.texts.get(f"actor.{kind}")
        return label if template is None else template.format(id=ident)

    def outcome(self, outcome: str) -> str:
        if outcome == "ok":
            return self.texts["outcome.ok"]
        return self.texts["outcome.other"].format(code=outcome)

    def reason(self, purpose: str | None) -> str:
        """An audit entry's purpose: purpose keys (comma-separated) or a rights reason."""
        if not purpose:
            return self.texts["none"]
        return ", ".join(self.texts.get(f"reason.{p}", p) for p in purpose.split(","))
