variable "name" {
  description = "The secret's name."
  type        = string
}

variable "description" {
  description = "The secret's description."
  type        = string
  default     = "managed by goldenpath"
}

variable "kms_key_arn" {
  description = "The environment's KMS key that encrypts the secret (null: the account's aws/secretsmanager key)."
  type        = string
  default     = null
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored (7 to 30)."
  type        = number
  default     = 30
}

variable "rotation_lambda_arn" {
  description = "The Lambda function that rotates the secret (null: no rotation)."
  type        = string
  default     = null
}

variable "rotation_days" {
  description = "Rotate every this many days (when rotation_lambda_arn is set)."
  type        = number
  default     = 30
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
