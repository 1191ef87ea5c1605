"""Stock: what a camera's frames mean. Status rules and StockState (models.py), the capped activity log
and the frame's place in it (services.py), counting zones (zones.py, zones_api.py), camera faults
(faults.py), an event's stored frame (frames.py), OFFLINE (offline.py), alert wording (notify.py), the
dashboard's reads (selectors.py) and the admin, the camera admin's stock included (admin.py)."""
