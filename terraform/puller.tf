# The camera puller: `manage.py pull_cameras` in its own service, from the same image, with the same
# settings, secrets and roles as the app (a pulled frame goes through the same ingest: database, stored
# frames in S3, alerts, dashboard push through Redis). No port and no load balancer: it only connects
# out, to the cameras (camera_cidr_blocks, reached over a VPN or Direct Connect to the depot network)
# and to the data stores. Several tasks share the cameras through leases in PostgreSQL; one that
# dies hands its cameras over within CAMERA_PULL_LEASE_S (30 s).

resource "aws_ecs_task_definition" "puller" {
  family                   = "${var.name}-puller"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.puller_task_cpu
  memory                   = var.puller_task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([
    {
      name      = local.puller_container_name
      image     = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"
      essential = true
      command   = ["python", "manage.py", "pull_cameras", "--concurrency", tostring(var.puller_concurrency)]

      environment = [for name, value in local.app_environment : { name = name, value = value }]
      secrets     = local.container_secrets

      linuxParameters = { initProcessEnabled = true }
      # On SIGTERM the puller starts no new pull, lets the pulls under way finish (each bounded by its
      # camera's timeout, at most 20 s) and gives its leases back; stopTimeout leaves it the time.
      stopTimeout = 45

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = var.aws_region
          awslogs-stream-prefix = local.puller_container_name
        }
      }
    },
  ])
}

resource "aws_ecs_service" "puller" {
  name                   = "${var.name}-puller"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.puller.arn
  desired_count          = var.puller_desired_count
  launch_type            = "FARGATE"
  platform_version       = "LATEST"
  enable_execute_command = var.enable_execute_command
  propagate_tags         = "SERVICE"

  # Rolling deploys: the new puller starts before the old one stops; leases keep each camera with one.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.service.id, aws_security_group.puller.id]
    assign_public_ip = var.assign_public_ip
  }

  depends_on = [aws_iam_role_policy.execution]

  lifecycle {
    precondition {
      condition     = var.puller_desired_count == 0 || local.uses_postgres
      error_message = "puller_desired_count > 0 needs PostgreSQL (enable_rds or database_url_secret_arn): a puller task with its own SQLite would count frames nobody sees. Set puller_desired_count = 0 for a SQLite demo."
    }
  }
}

# The puller's way to the cameras: egress only, to the private camera networks, any TCP port (snapshot
# URLs on 80/443/8080, RTSP on 554, brands differ). Nothing may connect to the puller.
resource "aws_security_group" "puller" {
  name_prefix = "${var.name}-puller-"
  description = "Camera puller of ${var.name}: out to the camera networks only"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "puller_to_cameras" {
  for_each = toset(var.camera_cidr_blocks)

  security_group_id = aws_security_group.puller.id
  description       = "Cameras (HTTP snapshots, RTSP) on a depot network"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 1
  to_port           = 65535
}
