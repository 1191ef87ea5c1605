# Low-stock alerts: the app publishes here when a camera enters or leaves CRITICAL
# (ALERT_SNS_TOPIC_ARN). Subscribe e-mail here; SMS, chat webhooks or Lambda outside this module.

resource "aws_sns_topic" "alerts" {
  name              = "${var.name}-low-stock"
  display_name      = "Inventory"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "alert_email" {
  for_each = toset(var.alert_sns_email_subscriptions)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}
