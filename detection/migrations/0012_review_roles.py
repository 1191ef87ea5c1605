"""Roles for the review loop: Operators and Managers may mark a count as wrong (issue 8);
Managers and Auditors may see the review set; Managers may view and switch model versions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Operators": ["flag_count"],
    "Managers": ["flag_count", "view_reviewframe", "view_modelversion"],
    "Auditors": ["view_reviewframe", "view_modelversion"],
}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for codename in codenames:
            group.permissions.add(Permission.objects.get(content_type__app_label="detection", codename=codename))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="detection", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [("detection", "0011_frames_zones_review_models")]
    operations = [migrations.RunPython(grant, revoke)]
