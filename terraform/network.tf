# Security groups. Who may talk to whom:
#   allowed_cidr_blocks --80/443--> ALB --8000--> service --5432--> RDS
#                                                         --6379--> Redis
#   service_ingress_cidr_blocks (private, never /0) --8000--> service
# The service and the data stores are never open to 0.0.0.0/0.

resource "aws_security_group" "alb" {
  count = var.enable_alb ? 1 : 0

  name_prefix = "${var.name}-alb-"
  description = "ALB for ${var.name}: HTTP/HTTPS from allowed CIDRs"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = var.enable_alb ? toset(var.allowed_cidr_blocks) : toset([])

  security_group_id = aws_security_group.alb[0].id
  description       = "HTTPS (dashboard, camera API, WebSockets)"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  for_each = var.enable_alb ? toset(var.allowed_cidr_blocks) : toset([])

  security_group_id = aws_security_group.alb[0].id
  description       = "HTTP, redirected to HTTPS"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_egress_rule" "alb_to_service" {
  count = var.enable_alb ? 1 : 0

  security_group_id            = aws_security_group.alb[0].id
  description                  = "To the app tasks"
  referenced_security_group_id = aws_security_group.service.id
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
}

resource "aws_security_group" "service" {
  name_prefix = "${var.name}-service-"
  description = "ECS tasks of ${var.name}: port 8000 from the ALB only"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "service_from_alb" {
  count = var.enable_alb ? 1 : 0

  security_group_id            = aws_security_group.service.id
  description                  = "Daphne from the ALB"
  referenced_security_group_id = aws_security_group.alb[0].id
  ip_protocol                  = "tcp"
  from_port                    = local.container_port
  to_port                      = local.container_port
}

resource "aws_vpc_security_group_ingress_rule" "service_from_cidrs" {
  for_each = toset(var.service_ingress_cidr_blocks)

  security_group_id = aws_security_group.service.id
  description       = "Daphne from a private network (VPN, site)"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = local.container_port
  to_port           = local.container_port
}

# Egress is scoped too: HTTPS for AWS APIs (ECR, Secrets Manager, SNS, CloudWatch Logs, ECS Exec),
# the data stores, and SMTP when e-mail alerts are on. The VPC DNS resolver is not filtered by SGs.
resource "aws_vpc_security_group_egress_rule" "service_https" {
  security_group_id = aws_security_group.service.id
  description       = "HTTPS to AWS APIs (ECR, Secrets Manager, SNS, Logs, SSM)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "service_to_rds" {
  count = var.enable_rds ? 1 : 0

  security_group_id            = aws_security_group.service.id
  description                  = "PostgreSQL (RDS)"
  referenced_security_group_id = aws_security_group.db[0].id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_vpc_security_group_egress_rule" "service_to_external_db" {
  count = !var.enable_rds && var.database_url_secret_arn != "" ? 1 : 0

  security_group_id = aws_security_group.service.id
  description       = "PostgreSQL inside the VPC (existing database)"
  cidr_ipv4         = data.aws_vpc.this.cidr_block
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
}

resource "aws_vpc_security_group_egress_rule" "service_to_redis" {
  count = var.enable_redis ? 1 : 0

  security_group_id            = aws_security_group.service.id
  description                  = "Redis (ElastiCache, TLS)"
  referenced_security_group_id = aws_security_group.redis[0].id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

resource "aws_vpc_security_group_egress_rule" "service_smtp" {
  count = local.alert_emails_enabled ? 1 : 0

  security_group_id = aws_security_group.service.id
  description       = "SMTP for alert e-mails"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = var.email_port
  to_port           = var.email_port
}

resource "aws_security_group" "db" {
  count = var.enable_rds ? 1 : 0

  name_prefix = "${var.name}-db-"
  description = "RDS PostgreSQL of ${var.name}: 5432 from the ECS tasks only"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "db_from_service" {
  count = var.enable_rds ? 1 : 0

  security_group_id            = aws_security_group.db[0].id
  description                  = "PostgreSQL from the app tasks"
  referenced_security_group_id = aws_security_group.service.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_security_group" "redis" {
  count = var.enable_redis ? 1 : 0

  name_prefix = "${var.name}-redis-"
  description = "ElastiCache Redis of ${var.name}: 6379 from the ECS tasks only"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_service" {
  count = var.enable_redis ? 1 : 0

  security_group_id            = aws_security_group.redis[0].id
  description                  = "Redis from the app tasks"
  referenced_security_group_id = aws_security_group.service.id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}
