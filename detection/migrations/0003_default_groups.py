"""Default roles, so a fresh install has them without clicking through the admin:
Operators (read-only dashboard), Managers (change thresholds), Auditors (Vision Inspector)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Operators": [("detection", "view_stockstate"), ("detection", "view_detectionevent")],
    "Managers": [("detection", "view_stockstate"), ("detection", "change_stockstate"),
                 ("detection", "view_detectionevent"), ("devices", "view_camera")],
    "Auditors": [("detection", "view_stockstate"), ("detection", "view_detectionevent"),
                 ("detection", "inspect_frames")],
}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in perms:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0002_inspect_permission"),
        ("devices", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
