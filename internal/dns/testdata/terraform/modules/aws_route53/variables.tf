variable "domain_name" {
  description = "The platform's domain, e.g. goldenpathidp.io."
  type        = string
}

variable "create_zone" {
  description = "Create the public hosted zone (in one environment) or look it up by name (in the others)."
  type        = bool
  default     = false
}

variable "comment" {
  description = "Comment on a created hosted zone."
  type        = string
  default     = "managed by goldenpath"
}

variable "records" {
  description = "Record sets: a TTL and values, or an alias to a load balancer. source names what wants the record."
  type = list(object({
    name    = string
    type    = string
    ttl     = optional(number, 300)
    records = optional(list(string), [])
    alias = optional(object({
      name                   = string
      zone_id                = string
      evaluate_target_health = optional(bool, true)
    }))
    source = optional(string)
  }))
  default = []
}

variable "tags" {
  description = "Tags on a created hosted zone."
  type        = map(string)
  default     = { "managed-by" = "goldenpath" }
}
