"""What the cameras see and what it means. One Django app (label "detection"; its tables, permissions
and migrations are as they always were) in rooms, each a sub-package owning its models, services,
selectors, API and admin. A room imports only rooms below it (tests/test_architecture.py checks):

    ingest/     the frames and heartbeat endpoints, the analyse + one-transaction service,
                receipts (Idempotency-Key), the Vision Inspector endpoint
    review/     wrong-count flags, the review set, its export for labelling tools
    stock/      status rules, StockState, the capped DetectionEvent log, thresholds, smoothing,
                zones, faults, an event's stored frame, offline detection, alert wording
    history/    per-minute readings, status changes, the stock-out report
    alerts/     the outbox, channels (e-mail, SNS, webhooks), the alert log, acknowledgement, test sends
    serving/    model versions (install, activate, rollback), the runtime that serves the active file
    (root)      hooks.py ("stock changed", after commit), metrics.py, rest.py (errors, permissions,
                the JSON exception handler), background.py (periodic threads), admin_base.py
    detector/   the pure engine, no Django: decode, letterbox, ONNX, NMS, tiling, image health;
                ml/, simulation/ and the benchmarks import it

models.py and admin.py collect the rooms' models and admin for Django; nothing in a room imports them.
A frame's path: ingest.api -> ingest.services -> stock.services -> history / alerts -> hooks.
detection never imports dashboard or inventory_monitor; devices never imports detection.
"""
