"""The district platform: signed HTTP both ways, the outbox relay, inbound endpoints,
reconciliation, and a runnable simulator of the platform (``integrations.district``)."""
