variable "name" {
  description = "The repository's name."
  type        = string
}

variable "scan_on_push" {
  description = "Scan each image for vulnerabilities when it is pushed."
  type        = bool
  default     = true
}

variable "image_tag_mutability" {
  description = "MUTABLE or IMMUTABLE."
  type        = string
  default     = "IMMUTABLE"
  validation {
    condition     = contains(["MUTABLE", "IMMUTABLE"], var.image_tag_mutability)
    error_message = "image_tag_mutability must be MUTABLE or IMMUTABLE."
  }
}

variable "encryption_type" {
  description = "AES256 (ECR's own key) or KMS."
  type        = string
  default     = "AES256"
  validation {
    condition     = contains(["AES256", "KMS"], var.encryption_type)
    error_message = "encryption_type must be AES256 or KMS."
  }
}

variable "kms_key_arn" {
  description = "The KMS key when encryption_type is KMS (null: ECR's AWS-managed key)."
  type        = string
  default     = null
}

variable "max_images" {
  description = "Images kept; older ones expire (from the request's size class)."
  type        = number
  default     = 100
}

variable "team_role_arn" {
  description = "The owning team's IAM role, granted push (null: no repository policy)."
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
