# RDS PostgreSQL instance of an RDSRequest, rendered by goldenpath: a subnet group, encrypted storage, deletion
# protection, Multi-AZ when asked, the master password managed by RDS in Secrets Manager (never by goldenpath)
# and a final snapshot when the instance is deleted.

locals {
  tags = merge(var.tags, {
    "goldenpath.io/request-id"  = var.request_id
    "goldenpath.io/owner"       = var.owner
    "goldenpath.io/team"        = var.team
    "goldenpath.io/environment" = var.environment
  })
}

resource "aws_db_subnet_group" "this" {
  name       = var.identifier
  subnet_ids = var.subnet_ids
  tags       = local.tags
}

resource "aws_db_instance" "this" {
  identifier     = var.identifier
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_name                       = var.database
  username                      = var.username
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = var.security_group_ids
  publicly_accessible    = false
  multi_az               = var.multi_az

  backup_retention_period   = var.backup_retention_days
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.identifier}-final"
  copy_tags_to_snapshot     = true

  tags = local.tags
}
