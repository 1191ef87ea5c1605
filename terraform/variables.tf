# --- General ---------------------------------------------------------------------------------

variable "aws_region" {
  description = "AWS region for every resource; also the container's AWS_REGION (the SNS topic's region)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1 or eu-west-3."
  }
}

variable "name" {
  description = "Name prefix for every resource (ECR repository, ECS cluster/service, ALB, database, ...)."
  type        = string
  default     = "inventory-monitor"

  validation {
    # 24 characters keeps "<name>-redis" (ElastiCache, 40) and "<name>-app" (target group, 32) legal.
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 3-24 characters: lowercase letters, digits and single hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags added to every resource (merged into the provider's default_tags)."
  type        = map(string)
  default     = {}
}

# --- Network (an existing VPC) -----------------------------------------------------------------

variable "vpc_id" {
  description = "ID of the existing VPC everything is placed in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "public_subnet_ids" {
  description = "Public subnets (at least two, in different AZs) for the ALB. Unused when enable_alb is false."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.public_subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "public_subnet_ids must contain subnet IDs (subnet-...)."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the ECS tasks, RDS and Redis (two AZs or more when enable_rds). Tasks pull images and call AWS APIs from here: give them a NAT gateway or VPC endpoints (see README), or set assign_public_ip."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 1 && alltrue([for id in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "private_subnet_ids must contain at least one subnet ID (subnet-...)."
  }
}

variable "assign_public_ip" {
  description = "Give tasks a public IP. Only when private_subnet_ids are really public subnets without a NAT gateway (cheap demos); the security group still admits only the ALB."
  type        = bool
  default     = false
}

variable "allowed_cidr_blocks" {
  description = "IPv4 CIDR blocks allowed to reach the ALB on 80/443 (browsers and cameras). Narrow it to your sites when you can."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for cidr in var.allowed_cidr_blocks : can(cidrhost(cidr, 0))])
    error_message = "allowed_cidr_blocks must contain IPv4 CIDR blocks."
  }
}

variable "service_ingress_cidr_blocks" {
  description = "Extra private IPv4 CIDR blocks (VPN, on-site network) allowed to reach the tasks directly on port 8000, e.g. when enable_alb is false. Never the whole internet."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.service_ingress_cidr_blocks : can(cidrhost(cidr, 0)) && !endswith(cidr, "/0")])
    error_message = "service_ingress_cidr_blocks must be IPv4 CIDR blocks narrower than /0: the service is never open to the internet."
  }
}

# --- Domain and load balancer --------------------------------------------------------------------

variable "domain_name" {
  description = "Host name people and cameras use (e.g. inventory.example.com): the app's ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS, and the name on the certificate."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name such as inventory.example.com."
  }
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone ID in which to create an alias record domain_name -> ALB. Empty: manage DNS yourself."
  type        = string
  default     = ""
}

variable "enable_alb" {
  description = "Create an internet-facing ALB (HTTPS, HTTP->HTTPS redirect, WebSockets) in front of the service. false: the service is reachable only from service_ingress_cidr_blocks."
  type        = bool
  default     = true
}

variable "certificate_arn" {
  description = "ARN of an ACM certificate for domain_name, in aws_region. Required when enable_alb is true."
  type        = string
  default     = ""

  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be empty or an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "alb_idle_timeout" {
  description = "ALB idle timeout in seconds. Long, because dashboard WebSockets stay open (Daphne also pings every 20 s)."
  type        = number
  default     = 3600

  validation {
    condition     = var.alb_idle_timeout >= 60 && var.alb_idle_timeout <= 4000
    error_message = "alb_idle_timeout must be between 60 and 4000 seconds."
  }
}

variable "alb_access_logs_bucket" {
  description = "S3 bucket for ALB access logs (its policy must allow ELB log delivery). Empty: no access logs."
  type        = string
  default     = ""
}

variable "deletion_protection" {
  description = "Protect the ALB and the database from deletion (destroy then needs a first apply with false). Turn off only for throw-away environments."
  type        = bool
  default     = true
}

# --- Container and service -------------------------------------------------------------------------

variable "image_tag" {
  description = "Tag of the image in the ECR repository to run (e.g. the git commit SHA). Tags are immutable by default, so use a new tag per build."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid Docker tag."
  }
}

variable "ecr_image_tag_mutability" {
  description = "MUTABLE or IMMUTABLE tags in the ECR repository. IMMUTABLE makes a tag always mean the same image."
  type        = string
  default     = "IMMUTABLE"

  validation {
    condition     = contains(["MUTABLE", "IMMUTABLE"], var.ecr_image_tag_mutability)
    error_message = "ecr_image_tag_mutability must be MUTABLE or IMMUTABLE."
  }
}

variable "ecr_keep_images" {
  description = "How many images the ECR lifecycle policy keeps (older ones expire; untagged ones after 7 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.ecr_keep_images >= 1
    error_message = "ecr_keep_images must be at least 1."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the tasks; the image must be built for it (X86_64: docker build --platform linux/amd64)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "task_cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU). One task runs one Daphne worker; inference is about 20-30 ms per frame per core."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.task_cpu)
    error_message = "task_cpu must be one of 256, 512, 1024, 2048, 4096."
  }
}

variable "task_memory" {
  description = "Fargate task memory in MiB (must be a valid combination with task_cpu)."
  type        = number
  default     = 2048

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 30720
    error_message = "task_memory must be between 512 and 30720 MiB."
  }
}

variable "desired_count" {
  description = "Number of tasks (ASGI workers). More than 1 requires enable_redis and PostgreSQL (enable_rds or database_url_secret_arn)."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 0 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a whole number >= 0."
  }
}

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS ignores ALB health checks after a task starts (model load and warm-up)."
  type        = number
  default     = 120

  validation {
    condition     = var.health_check_grace_period_seconds >= 0 && var.health_check_grace_period_seconds <= 2147483647
    error_message = "health_check_grace_period_seconds must be >= 0."
  }
}

variable "shutdown_drain_seconds" {
  description = "SHUTDOWN_DRAIN_S: after SIGTERM a task lets requests in flight finish for at most this long, then exits; the container's stopTimeout is this + 10 s."
  type        = number
  default     = 20

  validation {
    # Fargate allows a stopTimeout of at most 120 s.
    condition     = var.shutdown_drain_seconds >= 1 && var.shutdown_drain_seconds <= 110
    error_message = "shutdown_drain_seconds must be 1-110 (stopTimeout = drain + 10 s, at most 120 s on Fargate)."
  }
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights on the cluster (extra CloudWatch cost)."
  type        = bool
  default     = true
}

variable "enable_execute_command" {
  description = "Allow `aws ecs execute-command` into running tasks (used to create cameras; needs the Session Manager plugin locally)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention for the container logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "run_migrations_on_start" {
  description = "Set RUN_MIGRATIONS=1 so every task runs `manage.py migrate` before serving. Simple, but tasks starting together race; the default is a one-off run-task (README)."
  type        = bool
  default     = false
}

variable "extra_environment" {
  description = "Tuning variables for the container, e.g. { DETECTOR_CONFIDENCE = \"0.35\", LOG_LEVEL = \"WARNING\" }. Only the tunables listed in the validation are accepted; everything else is set by this module."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for key in keys(var.extra_environment) : contains([
      "TIME_ZONE", "LOG_LEVEL", "DB_CONN_MAX_AGE", "REQUEST_THREADS_KEPT", "REQUEST_THREAD_IDLE_S", "MALLOC_ARENAS", "MALLOC_TRIM_INTERVAL_S", "REDIS_PREFIX",
      "DASHBOARD_PUSH_INTERVAL_S", "SOCKET_AUTH_RECHECK_S", "INGEST_QUEUE_MAX",
      "DETECTOR_CONFIDENCE", "DETECTOR_IOU", "DETECTOR_MAX_DETECTIONS", "DETECTOR_THREADS",
      "INGEST_MAX_BYTES", "INGEST_MAX_PIXELS", "INGEST_RATE_FRAMES", "INGEST_RATE_WINDOW_S",
      "CAMERA_DEFAULT_OFFLINE_TIMEOUT_S", "EMAIL_TIMEOUT_S",
    ], key)])
    error_message = "extra_environment keys must be app tunables from the README configuration table (TIME_ZONE, LOG_LEVEL, DB_CONN_MAX_AGE, REQUEST_THREADS_KEPT, REQUEST_THREAD_IDLE_S, MALLOC_ARENAS, MALLOC_TRIM_INTERVAL_S, REDIS_PREFIX, DASHBOARD_PUSH_INTERVAL_S, SOCKET_AUTH_RECHECK_S, DETECTOR_*, INGEST_*, CAMERA_DEFAULT_OFFLINE_TIMEOUT_S, EMAIL_TIMEOUT_S)."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted Secrets Manager secret can be restored (0 deletes at once)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

# --- Camera puller (puller.tf) ------------------------------------------------------------------------

variable "puller_desired_count" {
  description = "Number of camera puller tasks (`manage.py pull_cameras`, for cameras with a pull source). 0: no puller (push and phone cameras only). More than 1 shares the cameras through database leases; needs PostgreSQL."
  type        = number
  default     = 1

  validation {
    condition     = var.puller_desired_count >= 0 && floor(var.puller_desired_count) == var.puller_desired_count
    error_message = "puller_desired_count must be a whole number >= 0."
  }
}

variable "puller_concurrency" {
  description = "Pulls one puller task runs at once (`pull_cameras --concurrency`), which bounds it to about 4 x this many pulls/s: 4 kept 100 cameras at 1 frame per 10 s on schedule, 8 kept 300 (main README, Performance)."
  type        = number
  default     = 4

  validation {
    condition     = var.puller_concurrency >= 1 && var.puller_concurrency <= 64 && floor(var.puller_concurrency) == var.puller_concurrency
    error_message = "puller_concurrency must be a whole number from 1 to 64."
  }
}

variable "puller_task_cpu" {
  description = "Fargate CPU units of a puller task (1024 = 1 vCPU). Each pulled frame is detected in the puller (README: Connect your cameras, for cameras per core)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.puller_task_cpu)
    error_message = "puller_task_cpu must be one of 256, 512, 1024, 2048, 4096."
  }
}

variable "puller_task_memory" {
  description = "Fargate memory of a puller task in MiB (must be a valid combination with puller_task_cpu)."
  type        = number
  default     = 2048

  validation {
    condition     = var.puller_task_memory >= 512 && var.puller_task_memory <= 30720
    error_message = "puller_task_memory must be between 512 and 30720 MiB."
  }
}

variable "camera_cidr_blocks" {
  description = "Private IPv4 CIDR blocks of the depots' camera networks the puller may connect to (any TCP port), reached from the VPC over a VPN or Direct Connect you provide. Empty: the puller reaches no camera. Never the whole internet."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.camera_cidr_blocks : can(cidrhost(cidr, 0)) && !endswith(cidr, "/0")])
    error_message = "camera_cidr_blocks must be IPv4 CIDR blocks narrower than /0 (the depots' private camera networks)."
  }
}

# --- Database --------------------------------------------------------------------------------------

variable "enable_rds" {
  description = "Create an RDS PostgreSQL instance and give the app its DATABASE_URL (from Secrets Manager)."
  type        = bool
  default     = true
}

variable "database_url_secret_arn" {
  description = "When enable_rds is false: ARN of an existing Secrets Manager secret whose whole value is a postgres:// DATABASE_URL (database inside the VPC). Empty too: SQLite inside the task (demo only, lost on every deploy, desired_count 1)."
  type        = string
  default     = ""

  validation {
    condition     = var.database_url_secret_arn == "" || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.database_url_secret_arn))
    error_message = "database_url_secret_arn must be empty or a Secrets Manager secret ARN."
  }
}

variable "db_engine_version" {
  description = "PostgreSQL major version (or major.minor) for RDS."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^1[6-9](\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be PostgreSQL 16 or newer, e.g. 16 or 16.4."
  }
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_allocated_storage" {
  description = "Initial RDS storage in GiB (gp3)."
  type        = number
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20
    error_message = "db_allocated_storage must be at least 20 GiB."
  }
}

variable "db_max_allocated_storage" {
  description = "Upper limit in GiB for RDS storage autoscaling (the activity log is capped, so growth is slow)."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "Run RDS as Multi-AZ (standby in a second AZ; doubles the database cost)."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Days of automated RDS backups."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35."
  }
}

variable "db_skip_final_snapshot" {
  description = "Destroy the database without a final snapshot (<name>-db-final). Keep false for real data; the snapshot must be deleted before a second destroy with the same name."
  type        = bool
  default     = false
}

# --- Redis -------------------------------------------------------------------------------------------

variable "enable_redis" {
  description = "Create a single-node ElastiCache Redis 7 (TLS + auth token) for the channel layer and shared cache. Required when desired_count > 1."
  type        = bool
  default     = true
}

variable "redis_engine_version" {
  description = "ElastiCache Redis engine version (7.x)."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^7\\.[0-9]+$", var.redis_engine_version))
    error_message = "redis_engine_version must be a Redis 7 version such as 7.1."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.micro"
}

# --- Alerts --------------------------------------------------------------------------------------------

variable "alert_sns_email_subscriptions" {
  description = "E-mail addresses subscribed to the low-stock SNS topic (each must confirm the AWS e-mail). Add SMS/chat subscriptions outside this module."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for address in var.alert_sns_email_subscriptions : can(regex("^[^@\\s]+@[^@\\s]+$", address))])
    error_message = "alert_sns_email_subscriptions must contain e-mail addresses."
  }
}

variable "alert_emails" {
  description = "Recipients of the app's own SMTP alerts (ALERT_EMAILS). Empty: no SMTP alerts (SNS still works). Needs email_host."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for address in var.alert_emails : can(regex("^[^@\\s,]+@[^@\\s,]+$", address))])
    error_message = "alert_emails must contain e-mail addresses."
  }
}

variable "email_host" {
  description = "SMTP server for alert_emails, e.g. email-smtp.us-east-1.amazonaws.com (SES SMTP)."
  type        = string
  default     = ""
}

variable "email_port" {
  description = "SMTP port (587 with STARTTLS for SES)."
  type        = number
  default     = 587

  validation {
    condition     = var.email_port > 0 && var.email_port < 65536
    error_message = "email_port must be a TCP port."
  }
}

variable "email_host_user" {
  description = "SMTP user name (for SES: the SMTP credentials' user name, not an IAM access key ID of a person)."
  type        = string
  default     = ""
}

variable "email_host_password_secret_arn" {
  description = "ARN of a Secrets Manager secret whose whole value is the SMTP password (EMAIL_HOST_PASSWORD). Empty: no SMTP login."
  type        = string
  default     = ""

  validation {
    condition     = var.email_host_password_secret_arn == "" || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.email_host_password_secret_arn))
    error_message = "email_host_password_secret_arn must be empty or a Secrets Manager secret ARN."
  }
}

variable "email_use_tls" {
  description = "Use STARTTLS for SMTP (EMAIL_USE_TLS)."
  type        = bool
  default     = true
}

variable "default_from_email" {
  description = "Sender address of alert e-mails (a verified SES identity when using SES). Empty: inventory-monitor@<domain_name>."
  type        = string
  default     = ""
}

variable "media_noncurrent_days" {
  description = "Days the media bucket keeps an object version the app deleted or replaced (trimmed frames, removed models) before S3 expires it."
  type        = number
  default     = 7

  validation {
    condition     = var.media_noncurrent_days >= 1
    error_message = "media_noncurrent_days must be at least 1."
  }
}
