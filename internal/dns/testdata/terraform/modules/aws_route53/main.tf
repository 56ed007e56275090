# Route53 hosted zone and records for the platform's domain, rendered by goldenpath.
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
