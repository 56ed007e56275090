variable "name" {
  description = "The cluster's name (its IAM roles and node group are named after it)."
  type        = string
}

variable "kubernetes_version" {
  description = "The Kubernetes version, e.g. 1.33 (null: EKS's default)."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "The subnets of the cluster and its nodes (the environment's VPC subnets from platform.yaml)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Extra security groups of the cluster's network interfaces."
  type        = list(string)
  default     = []
}

variable "endpoint_public_access" {
  description = "Whether the API server is reachable from the internet."
  type        = bool
  default     = true
}

variable "instance_types" {
  description = "The node group's instance types, from the size class."
  type        = list(string)
  default     = ["t3.medium"]
}

variable "node_count" {
  description = "The node group's size, from the size class."
  type        = number
  default     = 2
}

variable "region" {
  description = "The cluster's region, written into the kubeconfig output."
  type        = string
}

variable "expires_at" {
  description = "When the cluster expires (RFC 3339; tag goldenpath.io/expires-at): the request's TTL from its creation."
  type        = string
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
