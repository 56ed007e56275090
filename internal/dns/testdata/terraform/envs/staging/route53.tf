# Route53 records of the staging environment, rendered by goldenpath from platform.yaml and the apps'
# routes. Do not edit: goldenpath rewrites this file on every change. Terraform state owns these records, so
# no external-dns ownership TXT records are written.

module "route53" {
  source = "../../modules/aws_route53"

  domain_name = "goldenpathidp.io"
  create_zone = false

  records = [
    {
      name    = "*.staging.goldenpathidp.io"
      type    = "CNAME"
      ttl     = 300
      records = ["kong-staging-5678.eu-west-1.elb.amazonaws.com"]
      source  = "gateway/staging"
    },
    {
      name    = "shop.staging.goldenpathidp.io"
      type    = "CNAME"
      ttl     = 300
      records = ["kong-staging-5678.eu-west-1.elb.amazonaws.com"]
      source  = "route/staging/shop"
    },
  ]
}

output "zone_id" {
  value = module.route53.zone_id
}

output "name_servers" {
  value = module.route53.name_servers
}
