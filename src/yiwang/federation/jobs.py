"""The federation's background work: deliver the outbox, queue catalog changes, follow received
applications through the exchange flow. Each is idempotent and safe on several nodes."""

from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime
from yiwang.federation import outbox, service
from yiwang.federation.transport import own_keys


def policy_of(runtime: Runtime) -> outbox.RetryPolicy:
    settings = runtime.settings
    return outbox.RetryPolicy(
        base_seconds=settings.federation_retry_seconds,
        max_seconds=settings.federation_retry_max_seconds,
        timeout_seconds=settings.federation_timeout_seconds,
    )


def deliver(runtime: Runtime) -> int:
    return outbox.deliver_due(runtime.db.engine, keys=own_keys(runtime), policy=policy_of(runtime))


def sync_catalog(runtime: Runtime) -> int:
    with runtime.db.unit_of_work() as db:
        return service.queue_catalog_changes(db, base=runtime.settings.public_url)


def follow_applications(runtime: Runtime) -> int:
    cipher = runtime.cipher
    with runtime.db.unit_of_work() as db:
        return service.follow_incoming(
            db,
            data_dir=runtime.settings.data_dir,
            pseudonym=lambda value, namespace: cipher.pseudonym(value, namespace=namespace),
        )


def jobs(runtime: Runtime) -> list[Job]:
    settings = runtime.settings
    return [
        Job("federation.sync_catalog", settings.federation_sync_seconds, lambda: sync_catalog(runtime)),
        Job(
            "federation.follow_applications",
            settings.federation_delivery_seconds * 5,
            lambda: follow_applications(runtime),
        ),
        Job("federation.deliver", settings.federation_delivery_seconds, lambda: deliver(runtime)),
    ]
