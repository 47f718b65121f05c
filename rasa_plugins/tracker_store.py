"""Rasa's SQL tracker store with every event's data encrypted at rest.

Rasa 3.6's ``SQLTrackerStore`` keeps each event as JSON text in ``events.data``, user
messages included, in clear. This subclass maps the same ``events`` table with ``data``
as an encrypted column (Fernet, the case notes' ``CASE_NOTES_KEY``, key rotation
included): the parent's ``save``, ``_retrieve``, ``_event_query``, ``keys`` and
``retrieve_full_tracker`` run unchanged and see plain JSON, while the database only ever
holds tokens. ``type_name``, ``intent_name``, ``action_name`` (action or slot names) and
``timestamp`` stay in clear because Rasa's queries need them; they carry no message text.

Configured in endpoints.yml::

    tracker_store:
      type: rasa_plugins.tracker_store.EncryptedSQLTrackerStore

The database is ``TRACKER_DB_URL`` (any SQLAlchemy URL; default ``sqlite:///var/tracker.db``
under the repository), unless endpoints.yml gives a full ``url``. Rows written before
encryption was turned on (plain JSON) are still read; every new row is encrypted.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, _create_sequence, create_engine_kwargs
from rasa.shared.core.domain import Domain
from sqlalchemy.engine import make_url
from sqlalchemy.orm import declarative_base

from actions import settings
from actions.casenotes import crypto
from actions.casenotes.store import tracker_database_url
from rasa_plugins import patches

logger = logging.getLogger(__name__)

_URL_PARTS = ("dialect", "port", "db", "username", "password", "query")


class TrackerDecryptionError(RuntimeError):
    """Stored tracker events cannot be decrypted with the configured keys."""


class EncryptedText(sa.types.TypeDecorator):
    """Text encrypted with the ``CASE_NOTES_KEY`` MultiFernet on the way in, decrypted out."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Optional[str], dialect: Any) -> Optional[str]:
        return crypto.encrypt(value)

    def process_result_value(self, value: Optional[str], dialect: Any) -> Optional[str]:
        if value is None:
            return None
        if value.lstrip().startswith("{"):  # a row from before encryption: plain JSON
            return value
        try:
            return crypto.decrypt(value)
        except InvalidToken:
            raise TrackerDecryptionError(
                "tracker events cannot be decrypted: CASE_NOTES_KEY does not hold the key "
                "they were written with (keep old keys after the new one when rotating)"
            ) from None


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` on ``TRACKER_DB_URL`` with ``events.data`` encrypted."""

    Base: Any = declarative_base()  # Any: mypy cannot see through declarative_base()

    class SQLEvent(Base):  # same table and columns as Rasa's, data encrypted
        __tablename__ = "events"

        id = sa.Column(sa.Integer, _create_sequence(__tablename__), primary_key=True)
        sender_id = sa.Column(sa.String(255), nullable=False, index=True)
        type_name = sa.Column(sa.String(255), nullable=False)
        timestamp = sa.Column(sa.Float)
        intent_name = sa.Column(sa.String(255))
        action_name = sa.Column(sa.String(255))
        data = sa.Column(EncryptedText)

    engine: Any  # set by Rasa's SQLTrackerStore.__init__, replaced in ours

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        url: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        crypto.get_fernet()  # fail at start-up, not at the first message, if no key
        settings.require_production_settings()  # however the Rasa server was started
        patches.install()  # however the Rasa server was started (rasa_plugins/patches.py)
        given = url or (host if host and "://" in host else None)
        parsed = make_url(tracker_database_url(given))
        for name in _URL_PARTS:
            kwargs.pop(name, None)
        super().__init__(
            domain=domain,
            dialect=parsed.drivername,
            host=parsed.host,
            port=parsed.port,
            db=parsed.database,
            username=parsed.username,
            password=parsed.password,
            event_broker=event_broker,
            query=dict(parsed.query) or None,
            **kwargs,
        )
        # Rasa's engine puts statement parameters (ciphertext, sender ids) into error
        # messages and has no liveness check; replace it with one that does neither.
        engine_url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(
            engine_url, pool_pre_ping=True, hide_parameters=True,
            **create_engine_kwargs(engine_url),
        )
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        logger.debug("encrypted tracker store on %s",
                     engine_url.render_as_string(hide_password=True))
