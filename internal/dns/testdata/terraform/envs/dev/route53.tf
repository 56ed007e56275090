# Route53 records of the dev environment, rendered by goldenpath from platform.yaml and the apps'
# routes. Do not edit: goldenpath rewrites this file on every change. Terraform state owns these records, so
# no external-dns ownership TXT records are written.

module "route53" {
  source = "../../modules/aws_route53"

  domain_name = "goldenpathidp.io"
  create_zone = true

  records = [
    {
      name = "*.dev.goldenpathidp.io"
      type = "A"
      alias = {
        name                   = "kong-dev-1234.eu-west-1.elb.amazonaws.com"
        zone_id                = "Z32O12XQLNTSW2"
        evaluate_target_health = true
      }
      source = "gateway/dev"
    },
    {
      name = "argocd.dev.goldenpathidp.io"
      type = "A"
      alias = {
        name                   = "kong-dev-1234.eu-west-1.elb.amazonaws.com"
        zone_id                = "Z32O12XQLNTSW2"
        evaluate_target_health = true
      }
      source = "tool/dev/argocd"
    },
    {
      name = "backstage.dev.goldenpathidp.io"
      type = "A"
      alias = {
        name                   = "kong-dev-1234.eu-west-1.elb.amazonaws.com"
        zone_id                = "Z32O12XQLNTSW2"
        evaluate_target_health = true
      }
      source = "tool/dev/backstage"
    },
    {
      name = "grafana.dev.goldenpathidp.io"
      type = "A"
      alias = {
        name                   = "kong-dev-1234.eu-west-1.elb.amazonaws.com"
        zone_id                = "Z32O12XQLNTSW2"
        evaluate_target_health = true
      }
      source = "tool/dev/grafana"
    },
    {
      name = "keycloak.dev.goldenpathidp.io"
      type = "A"
      alias = {
        name                   = "kong-dev-1234.eu-west-1.elb.amazonaws.com"
        zone_id                = "Z32O12XQLNTSW2"
        evaluate_target_health = true
      }
      source = "tool/dev/keycloak"
    },
    {
      name = "orders.dev.goldenpathidp.io"
      type = "A"
      alias = {
        name                   = "kong-dev-1234.eu-west-1.elb.amazonaws.com"
        zone_id                = "Z32O12XQLNTSW2"
        evaluate_target_health = true
      }
      source = "route/dev/orders"
    },
  ]
}

output "zone_id" {
  value = module.route53.zone_id
}

output "name_servers" {
  value = module.route53.name_servers
}
