# Single-node Redis 7 for the channel layer (live dashboard updates across tasks) and the shared
# rate-limit cache. Transit encryption is on, so the URL is rediss:// (TLS) and carries an auth
# token: the whole REDIS_URL is a secret. Nothing here needs persistence or backups.

resource "random_password" "redis" {
  count = var.enable_redis ? 1 : 0

  # ElastiCache auth tokens: 16-128 printable characters; letters and digits stay URL-safe.
  length  = 40
  special = false
}

resource "aws_elasticache_subnet_group" "redis" {
  count = var.enable_redis ? 1 : 0

  name        = "${var.name}-redis"
  description = "Private subnets of ${var.name}'s Redis"
  subnet_ids  = var.private_subnet_ids
}

resource "aws_elasticache_replication_group" "redis" {
  count = var.enable_redis ? 1 : 0

  replication_group_id = "${var.name}-redis"
  description          = "Channel layer and cache of ${var.name}"
  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  parameter_group_name = "default.redis7"
  port                 = 6379

  num_cache_clusters         = 1
  automatic_failover_enabled = false
  multi_az_enabled           = false

  subnet_group_name  = aws_elasticache_subnet_group.redis[0].name
  security_group_ids = [aws_security_group.redis[0].id]

  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  auth_token                 = random_password.redis[0].result

  auto_minor_version_upgrade = true
  snapshot_retention_limit   = 0
  apply_immediately          = true
}

resource "aws_secretsmanager_secret" "redis_url" {
  count = var.enable_redis ? 1 : 0

  name_prefix             = "${var.name}/redis-url-"
  description             = "REDIS_URL (rediss://, with auth token) of ${var.name}'s ElastiCache"
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  count = var.enable_redis ? 1 : 0

  secret_id = aws_secretsmanager_secret.redis_url[0].id
  secret_string = format(
    "rediss://:%s@%s:%d/0",
    random_password.redis[0].result,
    aws_elasticache_replication_group.redis[0].primary_endpoint_address,
    aws_elasticache_replication_group.redis[0].port,
  )
}
