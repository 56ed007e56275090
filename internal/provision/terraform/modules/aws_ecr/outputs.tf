output "repository_uri" {
  description = "The repository's URI, to push and pull images."
  value       = aws_ecr_repository.this.repository_url
}

output "registry_id" {
  description = "The registry (account) id that holds the repository."
  value       = aws_ecr_repository.this.registry_id
}

output "arn" {
  description = "The repository's ARN."
  value       = aws_ecr_repository.this.arn
}
