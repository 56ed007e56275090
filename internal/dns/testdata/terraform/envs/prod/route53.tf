# Route53 records of the prod environment, rendered by goldenpath from platform.yaml and the apps'
# routes. Do not edit: goldenpath rewrites this file on every change. Terraform state owns these records, so
# no external-dns ownership TXT records are written.

module "route53" {
  source = "../../modules/aws_route53"

  domain_name = "goldenpathidp.io"
  create_zone = false

  records = [
    {
      name    = "*.goldenpathidp.io"
      type    = "A"
      ttl     = 300
      records = ["203.0.113.20"]
      source  = "gateway/prod"
    },
    {
      name    = "_dkim.goldenpathidp.io"
      type    = "TXT"
      ttl     = 3600
      records = ["v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBIjANBgkqh\"\"kiG9w0BAQEFAAOCAQ8AMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A; n=\"quoted $${not_interpolated}\""]
      source  = "route/prod/mail"
    },
    {
      name    = "orders.goldenpathidp.io"
      type    = "A"
      ttl     = 300
      records = ["203.0.113.20"]
      source  = "route/prod/orders"
    },
  ]
}

output "zone_id" {
  value = module.route53.zone_id
}

output "name_servers" {
  value = module.route53.name_servers
}
