"""The detection app's admin, for Django's autodiscovery: each room registers its own models."""

from detection.alerts import admin as alerts_admin  # noqa: F401
from detection.pull import admin as pull_admin  # noqa: F401
from detection.review import admin as review_admin  # noqa: F401
from detection.serving import admin as serving_admin  # noqa: F401
from detection.stock import admin as stock_admin  # noqa: F401
