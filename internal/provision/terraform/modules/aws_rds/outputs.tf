output "endpoint" {
  description = "The instance's host name."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "The port PostgreSQL listens on."
  value       = aws_db_instance.this.port
}

output "database" {
  description = "The database's name."
  value       = aws_db_instance.this.db_name
}

output "user" {
  description = "The master user's name."
  value       = aws_db_instance.this.username
}

output "secret_arn" {
  description = "The ARN of the Secrets Manager secret, managed by RDS, that holds the master user's password."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}
