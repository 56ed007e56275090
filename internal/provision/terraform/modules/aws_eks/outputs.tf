output "endpoint" {
  description = "The Kubernetes API server's URL."
  value       = aws_eks_cluster.this.endpoint
}

output "certificate_authority_data" {
  description = "The cluster's CA certificate, base64-encoded."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "kubeconfig" {
  description = "A kubeconfig that gets a token through `aws eks get-token` (no static credentials)."
  value = yamlencode({
    apiVersion      = "v1"
    kind            = "Config"
    "current-context" = var.name
    clusters = [{
      name = var.name
      cluster = {
        server                     = aws_eks_cluster.this.endpoint
        "certificate-authority-data" = aws_eks_cluster.this.certificate_authority[0].data
      }
    }]
    contexts = [{
      name    = var.name
      context = { cluster = var.name, user = var.name }
    }]
    users = [{
      name = var.name
      user = {
        exec = {
          apiVersion = "client.authentication.k8s.io/v1beta1"
          command    = "aws"
          args       = ["eks", "get-token", "--cluster-name", var.name, "--region", var.region]
        }
      }
    }]
  })
}

output "node_group_status" {
  description = "The node group's status (ACTIVE when ready)."
  value       = aws_eks_node_group.this.status
}
