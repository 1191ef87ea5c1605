# RDS PostgreSQL. DATABASE_URL contains the password, so the whole URL is the secret the task
# reads; nothing about the database is in plain environment variables.

resource "random_password" "db" {
  count = var.enable_rds ? 1 : 0

  # Letters and digits only: the password sits inside a URL and needs no escaping there.
  length  = 40
  special = false
}

resource "aws_db_subnet_group" "db" {
  count = var.enable_rds ? 1 : 0

  name_prefix = "${var.name}-db-"
  description = "Private subnets of ${var.name}'s database"
  subnet_ids  = var.private_subnet_ids

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = length(var.private_subnet_ids) >= 2
      error_message = "enable_rds needs at least two private_subnet_ids in different availability zones."
    }
  }
}

resource "aws_db_parameter_group" "db" {
  count = var.enable_rds ? 1 : 0

  name_prefix = "${var.name}-pg-"
  family      = "postgres${split(".", var.db_engine_version)[0]}"
  description = "${var.name}: TLS-only connections"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "db" {
  count = var.enable_rds ? 1 : 0

  identifier     = "${var.name}-db"
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  db_name  = "inventory"
  username = "inventory"
  password = random_password.db[0].result
  port     = 5432

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true

  db_subnet_group_name   = aws_db_subnet_group.db[0].name
  vpc_security_group_ids = [aws_security_group.db[0].id]
  parameter_group_name   = aws_db_parameter_group.db[0].name
  publicly_accessible    = false
  multi_az               = var.db_multi_az

  backup_retention_period         = var.db_backup_retention_days
  copy_tags_to_snapshot           = true
  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]

  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.deletion_protection
  final_snapshot_identifier = var.deletion_protection ? "${var.name}-db-final" : null
}

resource "aws_secretsmanager_secret" "database_url" {
  count = var.enable_rds ? 1 : 0

  name_prefix             = "${var.name}/database-url-"
  description             = "DATABASE_URL (with password) of ${var.name}'s RDS PostgreSQL"
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "database_url" {
  count = var.enable_rds ? 1 : 0

  secret_id = aws_secretsmanager_secret.database_url[0].id
  # sslmode=require: rds.force_ssl rejects plain connections (dj-database-url passes it to psycopg).
  secret_string = format(
    "postgres://%s:%s@%s:%d/%s?sslmode=require",
    aws_db_instance.db[0].username,
    random_password.db[0].result,
    aws_db_instance.db[0].address,
    aws_db_instance.db[0].port,
    aws_db_instance.db[0].db_name,
  )
}
