"""Serving: which detector file counts. Model versions, installed, activated and rolled back
(versions.py, models.py, admin.py), and the runtime that loads the active one in every worker
(runtime.py)."""
