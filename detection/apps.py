"""The detection app: one Django app (label, tables, migrations as ever) in rooms, see __init__.py."""

from django.apps import AppConfig


class DetectionConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'detection'

    def ready(self) -> None:
        from detection.review import services as review
        from detection.stock import frames

        frames.connect_signals()  # an event's stored frame is deleted with it, however it is deleted
        review.connect_signals()  # and a review frame's copy with its row (the cap, the admin, a camera deleted)
        from detection.stock import selectors

        if "pull_source" not in selectors.CARD_RELATIONS:
            selectors.CARD_RELATIONS.append("pull_source")  # a pulled camera's failure shows on its card
