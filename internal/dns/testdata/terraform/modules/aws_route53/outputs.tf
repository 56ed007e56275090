output "zone_id" {
  description = "The hosted zone's id."
  value       = local.zone_id
}

output "name_servers" {
  description = "The zone's name servers: the NS records to set at the domain's registrar."
  value       = local.name_servers
}
