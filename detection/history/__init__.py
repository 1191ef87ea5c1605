"""Long-term stock history: one compact reading per camera per minute, the exact status timeline,
and what is read from them (trend series, the stock-out report). Written by the ingest transaction
(services.py, called by detection.stock), read by the dashboard's trend and report pages and the read-only API (api.py)."""
