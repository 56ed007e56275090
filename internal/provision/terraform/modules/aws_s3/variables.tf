variable "name" {
  description = "The bucket's name (globally unique)."
  type        = string
}

variable "versioning" {
  description = "Keep earlier versions of each object."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Encrypt with this KMS key (SSE-KMS); null: SSE-S3 (AES256)."
  type        = string
  default     = null
}

variable "expiration_days" {
  description = "Delete objects this many days after they are written (null: never; from the size class)."
  type        = number
  default     = null
}

variable "noncurrent_version_expiration_days" {
  description = "Delete earlier versions this many days after they are replaced (when versioning)."
  type        = number
  default     = 30
}

variable "team_role_arn" {
  description = "The owning team's IAM role, granted read and write through the bucket policy (null: no policy)."
  type        = string
  default     = null
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
