"""Imports every domain's models so that ``Base.metadata`` knows all tables."""

from confiance.apikeys import models as apikeys
from confiance.audit import models as audit
from confiance.consent import models as consent
from confiance.db.base import Base
from confiance.dp import models as dp
from confiance.erasure import models as erasure
from confiance.keys import models as keys
from confiance.mail import models as mail
from confiance.manifest import models as manifest
from confiance.portal import models as portal
from confiance.retention import models as retention
from confiance.rights import models as rights
from confiance.staff import models as staff
from confiance.vault import models as vault
from confiance.webhooks import models as webhooks

__all__ = [
    "Base",
    "apikeys",
    "audit",
    "consent",
    "dp",
    "erasure",
    "keys",
    "mail",
    "manifest",
    "portal",
    "retention",
    "rights",
    "staff",
    "vault",
    "webhooks",
]
