output "ecr_repository_url" {
  description = "Push the image here: <url>:<image_tag>."
  value       = aws_ecr_repository.app.repository_url
}

output "app_url" {
  description = "Where people and cameras reach the app (point domain_name at alb_dns_name if route53_zone_id is empty)."
  value       = "${local.public_scheme}://${var.domain_name}/"
}

output "alb_dns_name" {
  description = "DNS name of the ALB (CNAME/alias target for domain_name); null without ALB."
  value       = var.enable_alb ? aws_lb.app[0].dns_name : null
}

output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.app.name
}

output "task_definition_arn" {
  description = "ARN of the current task definition revision (use it for one-off run-task calls)."
  value       = aws_ecs_task_definition.app.arn
}

output "container_name" {
  description = "Container name for command overrides and execute-command."
  value       = local.container_name
}

output "service_security_group_id" {
  description = "Security group of the tasks (one-off tasks use it too, to reach the database)."
  value       = aws_security_group.service.id
}

output "log_group_name" {
  description = "CloudWatch Logs group of the containers."
  value       = aws_cloudwatch_log_group.app.name
}

output "alert_sns_topic_arn" {
  description = "SNS topic receiving low-stock alerts (ALERT_SNS_TOPIC_ARN)."
  value       = aws_sns_topic.alerts.arn
}

output "database_url_secret_arn" {
  description = "Secrets Manager secret holding DATABASE_URL (empty when the task uses SQLite)."
  value       = local.database_url_secret_arn
}

output "migrate_command" {
  description = "One-off ECS task that applies migrations with the current image; run it after every apply that changes image_tag, before traffic depends on the new schema."
  value = join(" ", [
    "aws ecs run-task",
    "--region ${var.aws_region}",
    "--cluster ${aws_ecs_cluster.this.name}",
    "--launch-type FARGATE",
    "--task-definition ${aws_ecs_task_definition.app.arn}",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", var.private_subnet_ids)}],securityGroups=[${aws_security_group.service.id}],assignPublicIp=${var.assign_public_ip ? "ENABLED" : "DISABLED"}}'",
    "--overrides '{\"containerOverrides\":[{\"name\":\"${local.container_name}\",\"command\":[\"python\",\"manage.py\",\"migrate\",\"--no-input\"]}]}'",
    "--query 'tasks[0].taskArn' --output text",
  ])
}

output "media_bucket" {
  description = "S3 bucket holding stored frames, review copies and installed model versions (MEDIA_S3_BUCKET)."
  value       = aws_s3_bucket.media.id
}

output "puller_service_name" {
  description = "ECS service name of the camera puller (manage.py pull_cameras)."
  value       = aws_ecs_service.puller.name
}
