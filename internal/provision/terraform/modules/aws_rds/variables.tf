variable "identifier" {
  description = "The instance's identifier (also the subnet group's name)."
  type        = string
}

variable "engine_version" {
  description = "The PostgreSQL version, e.g. 16.4 (null: RDS's default)."
  type        = string
  default     = null
}

variable "instance_class" {
  description = "The instance class, from the request's size class, e.g. db.t4g.micro."
  type        = string
}

variable "allocated_storage" {
  description = "Storage in GiB, from the size class."
  type        = number
}

variable "max_allocated_storage" {
  description = "Storage autoscaling limit in GiB (null: no autoscaling)."
  type        = number
  default     = null
}

variable "database" {
  description = "The database created in the instance."
  type        = string
}

variable "username" {
  description = "The master user's name; RDS keeps its password in Secrets Manager."
  type        = string
  default     = "goldenpath"
}

variable "subnet_ids" {
  description = "The subnets of the DB subnet group (at least two availability zones)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "VPC security groups of the instance."
  type        = list(string)
  default     = []
}

variable "multi_az" {
  description = "A standby in another availability zone (default true for large and xlarge)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "The KMS key for storage and the master user secret (null: the AWS-managed keys)."
  type        = string
  default     = null
}

variable "backup_retention_days" {
  description = "Days automated backups are kept."
  type        = number
  default     = 7
}
variable "request_id" {
  description = "The request's id (tag goldenpath.io/request-id)."
  type        = string
}

variable "owner" {
  description = "The request's owner (tag goldenpath.io/owner)."
  type        = string
}

variable "team" {
  description = "The owning team (tag goldenpath.io/team)."
  type        = string
}

variable "environment" {
  description = "The environment (tag goldenpath.io/environment)."
  type        = string
}

variable "tags" {
  description = "More tags (the environment's tags from platform.yaml); the goldenpath.io/ tags win."
  type        = map(string)
  default     = {}
}
