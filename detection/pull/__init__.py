"""Pull sources: frames fetched from cameras that cannot post (HTTP(S) snapshot URLs, RTSP streams).

- models.py: `PullSource`, one per camera that is pulled (push stays the default), its schedule, its
  lease and its last failure in words; the password is stored encrypted (secrets.py).
- fetch.py: one snapshot over HTTP(S) (basic/digest, bounded read, checked redirects and addresses)
  or from RTSP (OpenCV's FFmpeg backend, the newest frame).
- services.py: configure, test a connection, pull once: the frame goes through
  detection.ingest.services.frame_ingest, exactly like a posted one.
- leases.py, puller.py: `manage.py pull_cameras`; several pullers share the cameras through
  database leases, each camera pulled by one of them at a time.
"""
