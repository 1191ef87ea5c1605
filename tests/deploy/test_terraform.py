"""terraform/ without Terraform: `terraform validate` needs provider plugins we cannot download, so
these tests parse the HCL (python-hcl2) and check the promises the module makes: it parses, its
variables are declared, used and described, the container only gets settings the app reads (and
credentials only through Secrets Manager), the ALB checks /healthz, nothing but the ALB is open to
the internet, and the app may publish only to its own alert topic."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

from tests.conftest import REPO

TERRAFORM = REPO / "terraform"
TF_FILES = sorted(TERRAFORM.glob("*.tf"))
# Plain Python values: strings without their HCL quotes, blocks as lists of dicts, no comments.
OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)
# Credentials: these may reach the container only through `secrets` (Secrets Manager).
SECRET_SETTINGS = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_HOST_PASSWORD"}
OPEN_TO_ALL = {"0.0.0.0/0", "::/0"}


def unquote(value: Any) -> Any:
    """Block labels keep their quotes in hcl2 8.x even with strip_string_quotes."""
    return value.strip('"') if isinstance(value, str) else value


@cache
def parsed(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=OPTIONS)


def module() -> dict[str, list[dict[str, Any]]]:
    """Every top-level section (resource, variable, ...) of every .tf file, merged."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for path in TF_FILES:
        for section, items in parsed(path).items():
            merged.setdefault(section, []).extend(items if isinstance(items, list) else [items])
    return merged


def typed_blocks(section: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) for two-label blocks: resource and data."""
    for item in module().get(section, []):
        for block_type, named in item.items():
            for name, body in named.items():
                yield unquote(block_type), unquote(name), body


def resources(block_type: str) -> dict[str, dict[str, Any]]:
    return {name: body for kind, name, body in typed_blocks("resource") if kind == block_type}


def data_sources(block_type: str) -> dict[str, dict[str, Any]]:
    return {name: body for kind, name, body in typed_blocks("data") if kind == block_type}


def variables() -> dict[str, dict[str, Any]]:
    return {unquote(name): body for item in module()["variable"] for name, body in item.items()}


def locals_() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for item in module().get("locals", []):
        merged.update(item)
    return merged


def app_settings() -> set[str]:
    """Environment variables the app reads: settings.py (the README table mirrors it, see
    tests/test_docs.py) plus the ones docker/entrypoint.sh reads."""
    settings = (REPO / "inventory_monitor" / "settings.py").read_text()
    names = set(re.findall(r'(?:os\.environ\.get|env(?:bool|int|float|list))\("([A-Z][A-Z0-9_]*)"', settings))
    entrypoint = (REPO / "docker" / "entrypoint.sh").read_text()
    names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):-", entrypoint))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "RUN_MIGRATIONS"} <= names  # the regexes still work
    return names


# --- Syntax and variables ------------------------------------------------------------------------


def test_it_has_the_module_files():
    names = {path.name for path in TF_FILES}
    assert {"versions.tf", "variables.tf", "outputs.tf", "ecr.tf", "ecs.tf", "iam.tf", "alb.tf", "rds.tf",
            "elasticache.tf", "sns.tf"} <= names
    assert (TERRAFORM / "README.md").is_file()
    assert (TERRAFORM / "terraform.tfvars.example").is_file()


@pytest.mark.parametrize("path", TF_FILES, ids=lambda path: path.name)
def test_every_tf_file_parses(path: Path):
    assert parsed(path), f"{path.name} is empty"


def test_the_parser_rejects_broken_hcl():
    # Guards the test above: a parser that accepted anything would prove nothing.
    with pytest.raises(Exception):
        hcl2.loads('resource "aws_s3_bucket" "x" {\n  bucket = "a"\n')


def test_the_tfvars_example_parses_and_sets_only_declared_variables():
    example = hcl2.loads((TERRAFORM / "terraform.tfvars.example").read_text(), serialization_options=OPTIONS)
    assert set(example) - set(variables()) == set()


def test_it_pins_the_aws_provider_to_major_5():
    (terraform,) = module()["terraform"]
    providers = terraform["required_providers"][0] if isinstance(terraform["required_providers"], list) \
        else terraform["required_providers"]
    assert providers["aws"]["source"] == "hashicorp/aws"
    assert providers["aws"]["version"] == "~> 5.0"


def references(pattern: str, *, skip_sections: tuple[str, ...] = ()) -> set[str]:
    found: set[str] = set()
    for path in TF_FILES:
        for section, items in parsed(path).items():
            if section not in skip_sections:
                found |= set(re.findall(pattern, json.dumps(items)))
    return found


def test_every_referenced_variable_is_declared():
    assert references(r"\bvar\.([A-Za-z_][A-Za-z0-9_]*)") - set(variables()) == set()


def test_every_declared_variable_is_used_outside_its_own_declaration():
    used = references(r"\bvar\.([A-Za-z_][A-Za-z0-9_]*)", skip_sections=("variable",))
    assert set(variables()) - used == set()


def test_every_variable_has_a_description_and_a_type():
    for name, body in variables().items():
        assert str(body.get("description", "")).strip(), f"variable {name} has no description"
        assert body.get("type"), f"variable {name} has no type"


def test_every_referenced_local_is_defined():
    assert references(r"\blocal\.([A-Za-z_][A-Za-z0-9_]*)") - set(locals_()) == set()


def test_every_output_has_a_description():
    for item in module()["output"]:
        for name, body in item.items():
            assert str(body.get("description", "")).strip(), f"output {name} has no description"


# --- What the container gets ----------------------------------------------------------------------


def container_definitions(task: str = "app") -> str:
    return resources("aws_ecs_task_definition")[task]["container_definitions"]


def plain_environment_names() -> set[str]:
    """Names of the literal environment maps (local.*_environment*) the task definition merges."""
    found: set[str] = set()
    for name, value in locals_().items():
        if "environment" in name and isinstance(value, dict):
            found |= set(value)
    return found


def test_the_task_definition_takes_environment_and_secrets_from_the_checked_locals():
    definitions = container_definitions()
    assert "environment = [for name, value in local.app_environment" in definitions
    assert "secrets = local.container_secrets" in definitions
    # app_environment only merges the literal maps checked below and the validated tunables.
    merged = set(re.findall(r"(?:local|var)\.([a-z_]+)", locals_()["app_environment"]))
    assert merged == {"base_environment", "email_environment", "extra_environment"}
    assert "local.email_environment_values" in locals_()["email_environment"]
    assert "local.secret_arns" in locals_()["container_secrets"]


def test_every_container_environment_variable_is_one_the_app_reads():
    names = plain_environment_names() | set(locals_()["secret_arns"])
    assert len(names) >= 10  # the locals are still literal maps the parser can see
    assert names - app_settings() == set()


def test_extra_environment_accepts_only_settings_the_app_reads():
    validation = variables()["extra_environment"]["validation"][0]["condition"]
    allowed = set(re.findall(r'\\?"([A-Z][A-Z0-9_]+)\\?"', validation))
    assert len(allowed) >= 10
    assert allowed - app_settings() == set()
    # Credentials and the settings the module derives itself cannot be overridden this way.
    assert allowed & (SECRET_SETTINGS | plain_environment_names()) == set()


def test_credentials_come_only_from_secrets_manager():
    assert plain_environment_names() & SECRET_SETTINGS == set()
    secrets = locals_()["secret_arns"]
    assert SECRET_SETTINGS <= set(secrets)
    assert "aws_secretsmanager_secret.secret_key.arn" in secrets["SECRET_KEY"]
    # The generated URLs hold passwords: the whole URL is the secret value.
    database_url = resources("aws_secretsmanager_secret_version")["database_url"]["secret_string"]
    redis_url = resources("aws_secretsmanager_secret_version")["redis_url"]["secret_string"]
    assert "random_password.db[0].result" in database_url and database_url.startswith("${format(\"postgres://")
    assert "random_password.redis[0].result" in redis_url


def test_production_settings_are_set_for_the_container():
    environment = locals_()["base_environment"]
    assert environment["DEBUG"] == "0"
    assert "var.domain_name" in environment["ALLOWED_HOSTS"]
    assert "aws_sns_topic.alerts.arn" in environment["ALERT_SNS_TOPIC_ARN"]
    assert "var.enable_alb" in environment["BEHIND_TLS_PROXY"]


def test_the_container_port_matches_the_image():
    dockerfile = (REPO / "Dockerfile").read_text()
    exposed = {int(port) for port in re.findall(r"^EXPOSE\s+(\d+)", dockerfile, re.M)}
    assert exposed == {locals_()["container_port"]}


def test_the_service_rolls_back_failed_deploys_and_waits_for_the_model():
    assert set(resources("aws_ecs_service")) == {"app", "puller"}
    service = resources("aws_ecs_service")["app"]
    breaker = service["deployment_circuit_breaker"][0]
    assert breaker["enable"] is True and breaker["rollback"] is True
    assert "var.desired_count" in service["desired_count"]
    assert "var.health_check_grace_period_seconds" in service["health_check_grace_period_seconds"]
    (log_group,) = resources("aws_cloudwatch_log_group").values()
    assert "var.log_retention_days" in log_group["retention_in_days"]


def test_ecs_waits_longer_than_the_worker_drains_before_it_kills():
    # The worker exits at the latest 5 s after SHUTDOWN_DRAIN_S (inventory_monitor/graceful.py);
    # stopTimeout must leave it that long, within Fargate's 120 s maximum.
    assert "stopTimeout = var.shutdown_drain_seconds + 10" in container_definitions()
    assert locals_()["base_environment"]["SHUTDOWN_DRAIN_S"] == "${tostring(var.shutdown_drain_seconds)}"
    condition = variables()["shutdown_drain_seconds"]["validation"][0]["condition"]
    assert "var.shutdown_drain_seconds <= 110" in condition
    from inventory_monitor.graceful import FORCE_EXIT_GRACE_S

    assert FORCE_EXIT_GRACE_S < 10


# --- Camera puller (puller.tf) ---------------------------------------------------------------------


def test_the_puller_runs_pull_cameras_from_the_same_image_with_the_same_settings():
    tasks = resources("aws_ecs_task_definition")
    assert set(tasks) == {"app", "puller"}
    app, puller = container_definitions("app"), container_definitions("puller")
    image = '"${aws_ecr_repository.app.repository_url}:${var.image_tag}"'
    assert image in app and image in puller
    assert '["python", "manage.py", "pull_cameras", "--concurrency", tostring(var.puller_concurrency)]' in puller
    for part in ("local.app_environment", "secrets = local.container_secrets"):
        assert part in app and part in puller
    assert "portMappings" not in puller and "healthCheck" not in puller  # it listens on nothing
    assert tasks["puller"]["execution_role_arn"] == tasks["app"]["execution_role_arn"]
    # SIGTERM: pulls under way (at most 20 s each, PullSource.timeout_s) finish before SIGKILL.
    stop = int(re.search(r"stopTimeout = (\d+)", puller).group(1))
    assert 20 < stop <= 120


def test_the_puller_service_defaults_to_one_task_and_needs_postgres_for_any():
    service = resources("aws_ecs_service")["puller"]
    assert "var.puller_desired_count" in service["desired_count"]
    assert variables()["puller_desired_count"]["default"] == 1
    assert "load_balancer" not in service
    assert service["deployment_circuit_breaker"][0]["rollback"] is True
    (precondition,) = service["lifecycle"][0]["precondition"]
    assert "var.puller_desired_count == 0 || local.uses_postgres" in precondition["condition"]
    groups = service["network_configuration"][0]["security_groups"]
    assert groups == ["${aws_security_group.service.id}", "${aws_security_group.puller.id}"]


def test_the_puller_reaches_only_the_camera_networks_it_is_given():
    assert "ingress" not in resources("aws_security_group")["puller"]
    egress = [rule for rule in resources("aws_vpc_security_group_egress_rule").values()
              if security_group_of(rule) == "puller"]
    (rule,) = egress
    assert rule["cidr_ipv4"] == "${each.value}" and "var.camera_cidr_blocks" in rule["for_each"]
    validation = variables()["camera_cidr_blocks"]["validation"][0]["condition"]
    assert "/0" in validation and "!endswith" in validation


# --- Load balancer --------------------------------------------------------------------------------


def test_the_target_group_health_check_is_healthz():
    (target_group,) = resources("aws_lb_target_group").values()
    (health_check,) = target_group["health_check"]
    assert health_check["path"] == "/healthz"
    assert health_check["matcher"] == "200"
    assert target_group["target_type"] == "ip"


def test_the_alb_keeps_websockets_open_and_redirects_http():
    (alb,) = resources("aws_lb").values()
    assert "var.alb_idle_timeout" in alb["idle_timeout"]
    assert variables()["alb_idle_timeout"]["default"] >= 3600
    listeners = resources("aws_lb_listener")
    assert listeners["https"]["protocol"] == "HTTPS"
    assert "var.certificate_arn" in listeners["https"]["certificate_arn"]
    redirect = listeners["http_redirect"]["default_action"][0]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"][0]["protocol"] == "HTTPS"


# --- Security groups --------------------------------------------------------------------------------


def security_group_of(rule: dict[str, Any]) -> str:
    match = re.search(r"aws_security_group\.([a-z_]+)", str(rule.get("security_group_id", "")))
    assert match, f"rule without a module security group: {rule}"
    return match.group(1)


def ingress_rules() -> list[tuple[str, dict[str, Any]]]:
    """(security group name, rule) for every ingress rule, whatever the style it is written in."""
    rules = [(security_group_of(rule), rule) for rule in resources("aws_vpc_security_group_ingress_rule").values()]
    rules += [(security_group_of(rule), rule) for rule in resources("aws_security_group_rule").values()
              if rule.get("type") == "ingress"]
    for name, group in resources("aws_security_group").items():
        rules += [(name, rule) for rule in group.get("ingress", [])]
    return rules


def cidrs(rule: dict[str, Any]) -> list[str]:
    values: list[str] = []
    for key in ("cidr_ipv4", "cidr_ipv6", "cidr_blocks", "ipv6_cidr_blocks"):
        value = rule.get(key)
        values += value if isinstance(value, list) else [value] if value else []
    return [str(value) for value in values]


def test_only_the_alb_is_open_to_the_internet():
    protected = [(group, rule) for group, rule in ingress_rules() if group != "alb"]
    assert {group for group, _ in protected} == {"service", "db", "redis"}
    for group, rule in protected:
        for cidr in cidrs(rule):
            assert cidr not in OPEN_TO_ALL, f"{group} open to {cidr}"
            # The only CIDR-based ingress to the service: a variable whose validation forbids /0.
            assert group == "service" and cidr == "${each.value}", f"{group}: unexpected CIDR {cidr}"
            assert "var.service_ingress_cidr_blocks" in rule["for_each"]
    validation = variables()["service_ingress_cidr_blocks"]["validation"][0]["condition"]
    assert '/0' in validation and "!endswith" in validation


def test_the_databases_admit_only_the_service():
    for group, rule in ingress_rules():
        if group in {"db", "redis"}:
            assert rule.get("referenced_security_group_id") == "${aws_security_group.service.id}"
            assert not cidrs(rule)


def test_the_service_admits_the_alb():
    sources = [rule.get("referenced_security_group_id") for group, rule in ingress_rules() if group == "service"]
    assert "${aws_security_group.alb[0].id}" in sources


def test_the_data_stores_are_private_and_encrypted():
    (db,) = resources("aws_db_instance").values()
    assert db["engine"] == "postgres" and db["publicly_accessible"] is False and db["storage_encrypted"] is True
    assert variables()["db_engine_version"]["default"] == "16"
    (redis,) = resources("aws_elasticache_replication_group").values()
    assert redis["transit_encryption_enabled"] is True and redis["at_rest_encryption_enabled"] is True
    # TLS on the server means rediss:// in the URL the app gets.
    redis_url = resources("aws_secretsmanager_secret_version")["redis_url"]["secret_string"]
    assert "rediss://" in redis_url


# --- IAM ------------------------------------------------------------------------------------------------


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        for body in dynamic.values():
            found += body.get("content", [])
    return found


def test_sns_publish_is_scoped_to_the_alert_topic():
    documents = data_sources("aws_iam_policy_document")
    sns_statements = [statement for document in documents.values() for statement in statements(document)
                      if any(str(action).lower().startswith("sns:") for action in statement.get("actions", []))]
    assert sns_statements, "nobody may publish alerts"
    for statement in sns_statements:
        assert statement["actions"] == ["sns:Publish"]
        assert statement["resources"] == ["${aws_sns_topic.alerts.arn}"]
    # ...and that document is the task role's.
    assert any(statement in statements(documents["task"]) for statement in sns_statements)
    assert resources("aws_iam_role_policy")["task"]["role"] == "${aws_iam_role.task.id}"
    assert resources("aws_iam_role_policy")["task"]["policy"] == "${data.aws_iam_policy_document.task.json}"
    for task in resources("aws_ecs_task_definition").values():  # the app and the puller
        assert task["task_role_arn"] == "${aws_iam_role.task.arn}"


def test_no_managed_policies_widen_the_roles():
    assert resources("aws_iam_role_policy_attachment") == {}
    for document in data_sources("aws_iam_policy_document").values():
        for statement in statements(document):
            if statement.get("effect", "Allow") == "Deny":  # e.g. the media bucket's "no plain HTTP": narrows
                continue
            assert not any(action == "*" or str(action).endswith(":*") for action in statement.get("actions", []))


def test_the_execution_role_reads_only_the_module_secrets():
    (read_secrets,) = [statement for statement in statements(data_sources("aws_iam_policy_document")["execution"])
                       if statement.get("actions") == ["secretsmanager:GetSecretValue"]]
    assert read_secrets["resources"] == "${local.secret_arns_used}"


def test_stored_frames_and_models_live_in_a_private_bucket_only_the_task_can_use():
    # Every task shares it (a Fargate task's disk dies with the task: an installed model would be gone).
    environment = locals_()["base_environment"]
    assert environment["MEDIA_STORAGE"] == "s3"
    assert environment["MEDIA_S3_BUCKET"] == "${aws_s3_bucket.media.id}"
    (block,) = resources("aws_s3_bucket_public_access_block").values()
    assert all(block[flag] is True for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                                  "restrict_public_buckets"))
    (encryption,) = resources("aws_s3_bucket_server_side_encryption_configuration").values()
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] in ("AES256", "aws:kms")
    # Versions the app deleted (trimmed frames) expire, so the bucket keeps the bound the README states.
    (lifecycle,) = resources("aws_s3_bucket_lifecycle_configuration").values()
    assert lifecycle["rule"][0]["noncurrent_version_expiration"][0]["noncurrent_days"] == "${var.media_noncurrent_days}"
    s3 = [statement for document in data_sources("aws_iam_policy_document").values()
          for statement in statements(document) if statement.get("effect", "Allow") == "Allow"
          and any(str(action).lower().startswith("s3:") for action in statement.get("actions", []))]
    assert s3 and all(statement in statements(data_sources("aws_iam_policy_document")["task"]) for statement in s3)
    assert {tuple(statement["resources"]) for statement in s3} == {
        ("${aws_s3_bucket.media.arn}/*",), ("${aws_s3_bucket.media.arn}",)}
