resource "aws_cloudwatch_log_group" "app" {
  # checkov:skip=CKV_AWS_158: logs hold no secrets (device keys are hashed, frames are not logged); default CloudWatch encryption
  # checkov:skip=CKV_AWS_338: retention is var.log_retention_days (30 by default); raise it if your audit rules say so
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }
}

resource "aws_ecs_task_definition" "app" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([
    {
      name      = local.container_name
      image     = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"
      essential = true

      portMappings = [
        { containerPort = local.container_port, protocol = "tcp" },
      ]

      environment = [for name, value in local.app_environment : { name = name, value = value }]
      secrets     = local.container_secrets

      healthCheck = {
        command     = ["CMD", "python", "-c", local.container_health_command]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }

      # A real init process reaps the shells that ECS Exec starts.
      linuxParameters = { initProcessEnabled = true }
      # ECS sends SIGTERM once the ALB has drained the task (deregistration_delay), then SIGKILL
      # stopTimeout seconds later. On SIGTERM the worker stops accepting, finishes the requests in
      # flight for at most SHUTDOWN_DRAIN_S, and exits (inventory_monitor/graceful.py); a watchdog
      # ends it 5 s after that at the latest. 10 s of margin keeps SIGKILL out of the way.
      stopTimeout = var.shutdown_drain_seconds + 10

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = var.aws_region
          awslogs-stream-prefix = local.container_name
        }
      }
    },
  ])

  lifecycle {
    precondition {
      condition     = !local.alert_emails_enabled || var.email_host != ""
      error_message = "alert_emails is set but email_host is empty: set the SMTP server (e.g. email-smtp.<region>.amazonaws.com for SES)."
    }
  }
}

resource "aws_ecs_service" "app" {
  name                   = var.name
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.app.arn
  desired_count          = var.desired_count
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  enable_execute_command = var.enable_execute_command
  propagate_tags         = "SERVICE"

  # Rolling deploys: start new tasks before stopping old ones; roll back a deploy whose tasks
  # never become healthy (bad image, failed migrations, missing model).
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # Only valid with a load balancer attached.
  health_check_grace_period_seconds = var.enable_alb ? var.health_check_grace_period_seconds : null

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.service.id]
    assign_public_ip = var.assign_public_ip
  }

  dynamic "load_balancer" {
    for_each = var.enable_alb ? [1] : []

    content {
      target_group_arn = aws_lb_target_group.app[0].arn
      container_name   = local.container_name
      container_port   = local.container_port
    }
  }

  # The target group must be attached to a listener before the service registers targets.
  depends_on = [aws_lb_listener.https, aws_iam_role_policy.execution]

  lifecycle {
    precondition {
      condition     = var.desired_count <= 1 || (var.enable_redis && local.uses_postgres)
      error_message = "desired_count > 1 needs enable_redis (shared channel layer and rate limits) and PostgreSQL (enable_rds or database_url_secret_arn): per-task SQLite and in-memory layers do not share state."
    }
  }
}
