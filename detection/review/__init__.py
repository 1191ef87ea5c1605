"""Review: frames kept for labelling. "Count is wrong" flags and low-confidence samples
(services.py, models.py, api.py, admin.py), and the export for labelling tools (export.py)."""
