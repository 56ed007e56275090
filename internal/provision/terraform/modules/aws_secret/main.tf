# Secrets Manager secret of a SecretRequest, rendered by goldenpath. The module creates the secret only: its
# value is set with `goldenpath secret set`, never through git or Terraform state.

locals {
  tags = merge(var.tags, {
    "goldenpath.io/request-id"  = var.request_id
    "goldenpath.io/owner"       = var.owner
    "goldenpath.io/team"        = var.team
    "goldenpath.io/environment" = var.environment
  })
}

resource "aws_secretsmanager_secret" "this" {
  name                    = var.name
  description             = var.description
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_rotation" "this" {
  count = var.rotation_lambda_arn == null ? 0 : 1

  secret_id           = aws_secretsmanager_secret.this.id
  rotation_lambda_arn = var.rotation_lambda_arn

  rotation_rules {
    automatically_after_days = var.rotation_days
  }
}
