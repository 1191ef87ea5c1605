"""Ingest: a camera's frame from the request to a stored event. The frames and heartbeat endpoints
(api.py), the upload checks shared with the Vision Inspector (uploads.py, inspect_api.py), the analyse
+ one-transaction service (services.py) and the Idempotency-Key receipts (receipts.py, models.py)."""
