# Smart Inventory Monitor on AWS: ECR + ECS Fargate (Daphne, HTTP + WebSocket on :8000), with
# optional ALB (HTTPS), RDS PostgreSQL, ElastiCache Redis, and an SNS topic for low-stock alerts.
# Everything the container needs comes from the README's configuration table: plain settings in
# `environment`, anything holding a credential from Secrets Manager via `secrets`.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

locals {
  container_name = "app"
  # The port docker/entrypoint.sh binds Daphne to (and the Dockerfile EXPOSEs).
  container_port = 8000

  # The database the app gets: our RDS instance, an existing PostgreSQL, or none (SQLite in the task).
  database_url_secret_arn = var.enable_rds ? aws_secretsmanager_secret.database_url[0].arn : var.database_url_secret_arn
  uses_postgres           = var.enable_rds || var.database_url_secret_arn != ""

  alert_emails_enabled = length(var.alert_emails) > 0
  public_scheme        = var.enable_alb ? "https" : "http"

  # Plain settings (names from the README configuration table; RUN_MIGRATIONS is read by
  # docker/entrypoint.sh). Values that hold credentials never go here: see secret_arns.
  base_environment = {
    DEBUG                = "0"
    ALLOWED_HOSTS        = var.domain_name
    CSRF_TRUSTED_ORIGINS = "${local.public_scheme}://${var.domain_name}"
    BEHIND_TLS_PROXY     = var.enable_alb ? "1" : "0"
    SECURE_COOKIES       = var.enable_alb ? "1" : "0"
    DETECTOR_PRELOAD     = "1"
    ALERT_SNS_TOPIC_ARN  = aws_sns_topic.alerts.arn
    AWS_REGION           = var.aws_region
    RUN_MIGRATIONS       = var.run_migrations_on_start ? "1" : "0"
  }

  # SMTP alerts, only when there is someone to send them to.
  email_environment_values = {
    ALERT_EMAILS       = join(",", var.alert_emails)
    EMAIL_HOST         = var.email_host
    EMAIL_PORT         = tostring(var.email_port)
    EMAIL_HOST_USER    = var.email_host_user
    EMAIL_USE_TLS      = var.email_use_tls ? "1" : "0"
    DEFAULT_FROM_EMAIL = var.default_from_email != "" ? var.default_from_email : "inventory-monitor@${var.domain_name}"
  }
  email_environment = local.alert_emails_enabled ? local.email_environment_values : {}

  app_environment = merge(local.base_environment, local.email_environment, var.extra_environment)

  # Credentials, injected by the ECS agent from Secrets Manager (never visible in the task
  # definition). Empty ARNs are left out.
  secret_arns = {
    SECRET_KEY          = aws_secretsmanager_secret.secret_key.arn
    DATABASE_URL        = local.database_url_secret_arn
    REDIS_URL           = var.enable_redis ? aws_secretsmanager_secret.redis_url[0].arn : ""
    EMAIL_HOST_PASSWORD = local.alert_emails_enabled ? var.email_host_password_secret_arn : ""
  }
  container_secrets = [for name, arn in local.secret_arns : { name = name, valueFrom = arn } if arn != ""]
  secret_arns_used  = [for arn in values(local.secret_arns) : arn if arn != ""]

  # Same check as the Dockerfile's HEALTHCHECK (ECS ignores that one): Host is the first
  # ALLOWED_HOSTS entry, since Django answers 400 to hosts it does not serve.
  container_health_command = "import os,sys,urllib.request as u; h=(os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.*') or 'localhost'; sys.exit(0 if u.urlopen(u.Request('http://127.0.0.1:${local.container_port}/healthz', headers={'Host': h}), timeout=4).status == 200 else 1)"
}

# --- Secrets -----------------------------------------------------------------------------------
# Generated values live in the Terraform state too: keep the state in an encrypted backend.

resource "random_password" "secret_key" {
  length  = 64
  special = true
  # No quotes, backslashes or $: the value passes through shells and env files unharmed.
  override_special = "!#%&*()-_=+[]{}<>:?"
}

resource "aws_secretsmanager_secret" "secret_key" {
  name_prefix             = "${var.name}/django-secret-key-"
  description             = "Django SECRET_KEY for ${var.name}"
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "secret_key" {
  secret_id     = aws_secretsmanager_secret.secret_key.id
  secret_string = random_password.secret_key.result
}
