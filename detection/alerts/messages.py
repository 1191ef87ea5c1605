"""What an alert says: a camera's stock enters or leaves CRITICAL, the camera goes OFFLINE (no frame
or heartbeat within its timeout) and comes back, or its frames cannot be counted (FAULT: too dark,
uniform, small or frozen) and then can again. Rendered the same way for e-mail, SNS and webhooks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from django.conf import settings


@dataclass(frozen=True)
class StockAlert:
    camera_slug: str
    camera_name: str
    location: str
    previous_status: str
    status: str
    smoothed_count: int | None
    critical_level: int
    target_capacity: int
    reason: str = ""  # FAULT: why the camera's frames cannot be counted
    test_by: str = ""  # a test alert ("send a test" on the alert log): who sent it

    @property
    def kind(self) -> str:
        """stock (CRITICAL in or out: the cooldown applies), offline or fault (once per outage anyway)."""
        if self.test_by:
            return "test"
        if "OFFLINE" in (self.previous_status, self.status):
            return "offline"
        if "FAULT" in (self.previous_status, self.status):
            return "fault"
        return "stock"

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> StockAlert:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    @property
    def url(self) -> str:
        """The camera's page: absolute with SITE_URL set (e-mail, chat), else the path on this server."""
        return f"{settings.SITE_URL.rstrip('/')}/cameras/{self.camera_slug}/"

    def subject(self) -> str:
        """One line that names the state the camera is in now (the dashboard shows the same)."""
        name = self.camera_name
        if self.test_by:
            return f"[Inventory] Test alert (sent by {self.test_by})"
        if self.status == "OFFLINE":
            return f"[Inventory] {name}: camera OFFLINE"
        if self.previous_status == "OFFLINE" and self.status == "FAULT":
            return f"[Inventory] {name}: camera back online, but FAULT ({self.reason})"
        if self.previous_status == "OFFLINE":
            return f"[Inventory] {name}: camera back online ({self.status})"
        if self.status == "FAULT":
            return f"[Inventory] {name}: camera FAULT ({self.reason})"
        if self.previous_status == "FAULT":
            return f"[Inventory] {name}: camera working again ({self.status})"
        if self.status == "CRITICAL":
            return f"[Inventory] {name}: stock CRITICAL ({self.smoothed_count} left)"
        if self.previous_status == "CRITICAL":
            return f"[Inventory] {name}: stock recovered ({self.status})"
        return f"[Inventory] {name}: {self.previous_status} → {self.status}"

    def body(self) -> str:
        if self.test_by:
            return (f"A test alert sent by {self.test_by} from the alert log. No camera changed state; "
                    "if you read this, alerts reach you by this channel.\n")
        where = f" at {self.location}" if self.location else ""
        lines = [f"Camera {self.camera_name} ({self.camera_slug}){where} changed from {self.previous_status} "
                 f"to {self.status}."]
        if self.status == "OFFLINE":
            lines.append("No frame or heartbeat arrived within its offline timeout: the stock level shown is stale.")
            if self.previous_status == "FAULT" and self.reason:
                lines.append(f"Before that its frames could not be counted: {self.reason}.")
        if self.status == "FAULT":
            lines.append(f"Its frames cannot be counted: {self.reason}. They are not counted as stock; the level "
                         "shown is the last good reading. Check the camera (lens, light, focus, stream).")
        if self.previous_status == "FAULT" and self.status != "OFFLINE":
            lines.append(f"Its frames can be counted again (the fault was: {self.reason}).")
        lines += [f"Current count (smoothed): {self.smoothed_count}",
                  f"Critical level: {self.critical_level}   Target capacity: {self.target_capacity}",
                  f"Camera page: {self.url}"]
        return "\n".join(lines) + "\n"


def alert_needed(previous_status: str, status: str) -> bool:
    """Only transitions into or out of CRITICAL page someone; WARNING <-> FULL does not."""
    return previous_status != status and "CRITICAL" in (previous_status, status)
