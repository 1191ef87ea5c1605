# Internet-facing ALB: HTTPS to the tasks, HTTP redirected to HTTPS. WebSockets (/ws/dashboard/)
# upgrade through the HTTPS listener with no extra setting; the long idle timeout keeps quiet
# dashboards connected. No stickiness: live state is in the database and Redis.

resource "aws_lb" "app" {
  # checkov:skip=CKV2_AWS_28: WAF costs extra; camera API uses device keys with rate limits, add aws_wafv2_web_acl_association if needed
  count = var.enable_alb ? 1 : 0

  name                       = "${var.name}-alb"
  internal                   = false
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb[0].id]
  subnets                    = var.public_subnet_ids
  idle_timeout               = var.alb_idle_timeout
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  dynamic "access_logs" {
    for_each = var.alb_access_logs_bucket != "" ? [1] : []

    content {
      bucket  = var.alb_access_logs_bucket
      prefix  = var.name
      enabled = true
    }
  }

  lifecycle {
    precondition {
      condition     = length(var.public_subnet_ids) >= 2
      error_message = "enable_alb needs at least two public_subnet_ids in different availability zones."
    }
  }
}

resource "aws_lb_target_group" "app" {
  count = var.enable_alb ? 1 : 0

  name        = "${var.name}-app"
  port        = local.container_port
  protocol    = "HTTP"
  target_type = "ip" # Fargate (awsvpc) tasks register by IP
  vpc_id      = var.vpc_id

  # Open WebSockets get this long to finish when a task is replaced; browsers reconnect.
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = "/healthz"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  count = var.enable_alb ? 1 : 0

  load_balancer_arn = aws_lb.app[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app[0].arn
  }

  lifecycle {
    precondition {
      condition     = var.certificate_arn != ""
      error_message = "enable_alb needs certificate_arn (an ACM certificate for domain_name in aws_region)."
    }
  }
}

resource "aws_lb_listener" "http_redirect" {
  count = var.enable_alb ? 1 : 0

  load_balancer_arn = aws_lb.app[0].arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_route53_record" "app" {
  count = var.enable_alb && var.route53_zone_id != "" ? 1 : 0

  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_lb.app[0].dns_name
    zone_id                = aws_lb.app[0].zone_id
    evaluate_target_health = true
  }
}
