"""What an alert says: a camera's stock enters or leaves CRITICAL, the camera goes OFFLINE (no frame
or heartbeat within its timeout) and comes back, or its frames cannot be counted (FAULT: too dark,
uniform, small or frozen) and then can again. Rendered the same way for e-mail, SNS and webhooks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


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

    @property
    def kind(self) -> str:
        """stock (CRITICAL in or out: the cooldown applies), offline or fault (once per outage anyway)."""
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

    def subject(self) -> str:
        if self.status == "OFFLINE":
            return f"[Inventory] {self.camera_name}: camera OFFLINE"
        if self.previous_status == "OFFLINE":
            return f"[Inventory] {self.camera_name}: camera back online ({self.status})"
        if self.status == "FAULT":
            return f"[Inventory] {self.camera_name}: camera FAULT ({self.reason})"
        if self.previous_status == "FAULT":
            return f"[Inventory] {self.camera_name}: camera working again ({self.status})"
        if self.previous_status == "CRITICAL":
            return f"[Inventory] {self.camera_name}: stock recovered ({self.status})"
        return f"[Inventory] {self.camera_name}: stock CRITICAL ({self.smoothed_count} left)"

    def body(self) -> str:
        where = f" at {self.location}" if self.location else ""
        lines = [f"Camera {self.camera_name} ({self.camera_slug}){where} changed from {self.previous_status} "
                 f"to {self.status}."]
        if self.status == "OFFLINE":
            lines.append("No frame or heartbeat arrived within its offline timeout: the stock level shown is stale.")
        if self.status == "FAULT":
            lines.append(f"Its frames cannot be counted: {self.reason}. They are not counted as stock; the level "
                         "shown is the last good reading. Check the camera (lens, light, focus, stream).")
        if self.previous_status == "FAULT":
            lines.append(f"Its frames can be counted again (the fault was: {self.reason}).")
        lines += [f"Current count (smoothed): {self.smoothed_count}",
                  f"Critical level: {self.critical_level}   Target capacity: {self.target_capacity}"]
        return "\n".join(lines) + "\n"


def alert_needed(previous_status: str, status: str) -> bool:
    """Only transitions into or out of CRITICAL page someone; WARNING <-> FULL does not."""
    return previous_status != status and "CRITICAL" in (previous_status, status)
