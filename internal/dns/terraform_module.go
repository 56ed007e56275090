package dns

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// The Route53 module of the seed plan (phase 0.1): the hosted zone, created or looked up, and the records of
// var.records. It is the same for every platform; what differs is in envs/<env>/route53.tf.

const moduleMain = `# Route53 hosted zone and records for the platform's domain, rendered by goldenpath.
# One environment creates the zone (create_zone = true); the others look it up by name.

resource "aws_route53_zone" "this" {
  count = var.create_zone ? 1 : 0

  name    = var.domain_name
  comment = var.comment
  tags    = var.tags
}

data "aws_route53_zone" "this" {
  count = var.create_zone ? 0 : 1

  name         = var.domain_name
  private_zone = false
}

locals {
  zone_id      = var.create_zone ? aws_route53_zone.this[0].zone_id : data.aws_route53_zone.this[0].zone_id
  name_servers = var.create_zone ? aws_route53_zone.this[0].name_servers : data.aws_route53_zone.this[0].name_servers

  # Keyed by name and type, so adding or removing one record set leaves the others' addresses alone.
  plain_records = { for r in var.records : "${r.name} ${r.type}" => r if r.alias == null }
  alias_records = { for r in var.records : "${r.name} ${r.type}" => r if r.alias != null }
}

resource "aws_route53_record" "this" {
  for_each = local.plain_records

  zone_id = local.zone_id
  name    = each.value.name
  type    = each.value.type
  ttl     = each.value.ttl
  records = each.value.records
}

resource "aws_route53_record" "alias" {
  for_each = local.alias_records

  zone_id = local.zone_id
  name    = each.value.name
  type    = each.value.type

  alias {
    name                   = each.value.alias.name
    zone_id                = each.value.alias.zone_id
    evaluate_target_health = each.value.alias.evaluate_target_health
  }
}
`

const moduleVariables = `variable "domain_name" {
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
`

const moduleOutputs = `output "zone_id" {
  description = "The hosted zone's id."
  value       = local.zone_id
}

output "name_servers" {
  description = "The zone's name servers: the NS records to set at the domain's registrar."
  value       = local.name_servers
}
`

const moduleReadme = "# aws_route53\n\n" +
	"The platform domain's public hosted zone and its records, rendered by goldenpath (do not edit: it is\n" +
	"rewritten on every DNS change when `dns.provider` is `terraform`).\n\n" +
	"- `main.tf` — the hosted zone, created when `create_zone` is true and looked up by name otherwise, and one\n" +
	"  `aws_route53_record` per entry of `records` (an alias block for load balancers, TTL and values otherwise).\n" +
	"- `variables.tf` — `domain_name`, `create_zone`, `records`, `comment`, `tags`.\n" +
	"- `outputs.tf` — `zone_id` and `name_servers` (set these as the domain's NS records at the registrar).\n\n" +
	"Each environment calls the module from `envs/<env>/route53.tf` with its records: the wildcard\n" +
	"`*.<env>.<domain>` (`*.<domain>` for prod) to its gateway, the tooling hosts and the apps' route hosts.\n" +
	"Terraform state owns these records, so they carry no external-dns ownership TXT records; goldenpath reads\n" +
	"the files back to plan the next change.\n\n" +
	"```sh\ncd envs/dev && terraform init && terraform apply\n```\n"

// comment makes raw comment tokens for hclwrite.
func comment(text string) hclwrite.Tokens {
	return hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(text)}}
}

func traversal(names ...string) hcl.Traversal {
	t := hcl.Traversal{hcl.TraverseRoot{Name: names[0]}}
	for _, n := range names[1:] {
		t = append(t, hcl.TraverseAttr{Name: n})
	}
	return t
}
