"""Automation: drafting retros when incidents resolve (``docs/automation.md``).

* :mod:`~retroflow.service.events`: what receivers and feeds tell the service (public, light);
* :mod:`~retroflow.service.database`: the service's connections (SQLite ``BEGIN IMMEDIATE``,
  ``synchronous=FULL``);
* :mod:`~retroflow.service.jobs`: the job backend interface and the embedded lease-based one;
* :mod:`~retroflow.service.lifecycle`: the per-incident state machine (resolve schedules a
  draft, reopen cancels it, ordered by ``occurred_at``);
* :mod:`~retroflow.service.inbox`: durable intake of deliveries, group-committed;
* :mod:`~retroflow.service.draft`: the job that builds, stores, writes, exports and notifies;
* :mod:`~retroflow.service.worker`: job threads, leases, heartbeats, graceful stop;
* :mod:`~retroflow.service.app`: the Starlette app (webhooks, health, pages);
* :mod:`~retroflow.service.pages`: the pages people read retros and record input with
  (:mod:`~retroflow.service.auth`: who may write, CSRF; :mod:`~retroflow.service.diff`:
  what changed between versions);
* :mod:`~retroflow.service.server`: ``serve`` and ``worker`` processes;
* :mod:`~retroflow.service.poller`: ``watch``, the polling fallback.

Vendor-specific parts (signatures, payloads, listing incidents, notes) come from plugins
through ``retroflow_register_webhooks``, ``retroflow_register_incident_feeds`` and
``retroflow_retro_drafted``. This module imports nothing heavy: ``retroflow`` exports the
types of :mod:`~retroflow.service.events`.
"""
